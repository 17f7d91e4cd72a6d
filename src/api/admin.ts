import { Hono } from 'hono'
import { currentCatalog, storeCatalog, validateCatalog } from '../catalog/store'
import { requireAdmin } from './auth'
import { readJsonBody } from './body'
import type { AppEnv } from './context'
import { z } from 'zod'

/** Operator endpoints: read and replace the catalog document. */
export const admin = new Hono<AppEnv>()

admin.use('/admin/*', requireAdmin)

admin.get('/admin/catalog', async (c) => {
  const catalog = await currentCatalog(c.env, (p) => c.executionCtx.waitUntil(p), c.var.clock())
  return c.json(catalog.document)
})

admin.put('/admin/catalog', async (c) => {
  // Parsed as JSON first, then validated whole, so that a bad document leaves the old one in force.
  const document = validateCatalog(await readJsonBody(c, z.unknown(), 'catalog'))
  const catalog = await storeCatalog(c.env, document, c.var.clock())
  return c.json({ ok: true, providers: catalog.providers.size, models: catalog.models.size })
})

import { Hono } from 'hono'
import { currentCatalog, storeCatalog, validateCatalog } from '../catalog/store'
import { scheduleSync, scheduledSync, syncCatalog, SyncOptionsSchema, unscheduleSync } from '../catalog/sync'
import { requireAdmin } from './auth'
import { readJsonBody } from './body'
import type { AppEnv } from './context'
import { z } from 'zod'

/** Operator endpoints: read and replace the catalog document, and sync it from a public catalog. */
export const admin = new Hono<AppEnv>()

admin.use('/admin/*', requireAdmin)

admin.get('/admin/catalog', async (c) => {
  const catalog = await currentCatalog(c.env, (p) => c.executionCtx.waitUntil(p), c.get('clock')())
  return c.json(catalog.document)
})

admin.put('/admin/catalog', async (c) => {
  // Parsed as JSON first, then validated whole, so that a bad document leaves the old one in force.
  const document = validateCatalog(await readJsonBody(c, z.unknown(), 'catalog'))
  const catalog = await storeCatalog(c.env, document, c.get('clock')())
  return c.json({ ok: true, providers: catalog.providers.size, models: catalog.models.size })
})

/** Runs a sync now and returns its report; with `schedule: true` cron repeats it (docs/catalog.md "Catalog sync"). */
admin.post('/admin/catalog/sync', async (c) => {
  const options = await readJsonBody(c, SyncOptionsSchema, 'sync options')
  const now = c.get('clock')()
  const report = await syncCatalog(c.env, options, now)
  if (options.schedule) await scheduleSync(c.env, options, now)
  return c.json(report)
})

admin.get('/admin/catalog/sync', async (c) => {
  const stored = await scheduledSync(c.env)
  return c.json({
    options: stored?.options ?? null,
    last_run_at: stored ? new Date(stored.lastRunAt).toISOString() : null,
  })
})

admin.delete('/admin/catalog/sync', async (c) => {
  await unscheduleSync(c.env)
  return c.json({ ok: true })
})

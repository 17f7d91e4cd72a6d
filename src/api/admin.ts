import { Hono } from 'hono'
import { currentCatalog, storeCatalog, validateCatalog } from '../catalog/store'
import { scheduleSync, scheduledSync, syncCatalog, SyncOptionsSchema, unscheduleSync } from '../catalog/sync'
import { GatewayError } from '../errors'
import { currentPresets, storePreset, storePresets, validatePresets } from '../routing/preset-store'
import { Preset, PresetSlug } from '../routing/presets'
import { requireAdmin } from './auth'
import { readJsonBody } from './body'
import type { AppEnv } from './context'
import * as z from 'zod'

/** Operator endpoints: read and replace the catalog document, sync it from a public catalog, and keep presets. */
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

/** Presets (docs/presets.md): the whole document, or one by its slug. */
admin.get('/admin/presets', async (c) => c.json(await currentPresets(c.env, (p) => c.executionCtx.waitUntil(p), c.get('clock')())))

admin.put('/admin/presets', async (c) => {
  const document = validatePresets(await readJsonBody(c, z.unknown(), 'presets'))
  await storePresets(c.env, document, c.get('clock')())
  return c.json({ ok: true, presets: Object.keys(document).length })
})

admin.put('/admin/presets/:slug', async (c) => {
  const slug = presetSlug(c.req.param('slug'))
  const preset = await readJsonBody(c, Preset, 'preset')
  const document = await storePreset(c.env, slug, preset, c.get('clock')())
  return c.json({ ok: true, presets: Object.keys(document).length })
})

admin.delete('/admin/presets/:slug', async (c) => {
  const document = await storePreset(c.env, presetSlug(c.req.param('slug')), null, c.get('clock')())
  return c.json({ ok: true, presets: Object.keys(document).length })
})

function presetSlug(raw: string): string {
  const slug = PresetSlug.safeParse(raw)
  if (!slug.success) throw new GatewayError(400, 'invalid_request', `Invalid preset slug: ${slug.error.issues[0]?.message ?? 'not a slug'}`)
  return slug.data
}

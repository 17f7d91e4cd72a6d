import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { CatalogDocument } from '../../../src/catalog/schema'
import { CATALOG_KV_KEY } from '../../../src/catalog/store'
import { runScheduledSync, scheduleSync, SyncOptionsSchema } from '../../../src/catalog/sync'
import { testCatalog } from '../../support/catalog'
import { adminFetch, installCatalog } from '../../support/gateway'
import openrouter from '../../fixtures/openrouter-models.json'

/**
 * A sync merges into the catalog KV holds: another isolate may have stored an operator's PUT since
 * this one read its memo (within CATALOG_REFRESH_MS), and the sync must not revert it.
 */

const FRANKFURT = { name: 'frankfurt', lat: 50.1, lon: 8.7 }
const stored = () => env.KV.get<CatalogDocument>(CATALOG_KV_KEY, 'json')
const NEW_MODEL = {
  id: 'test/new',
  name: 'New',
  contextLength: 8000,
  modalities: { input: ['text'], output: ['text'] },
  endpoints: [{ provider: 'alpha', upstreamModel: 'new', pricing: { prompt: '0.000001', completion: '0.000002' }, maxCompletionTokens: 1000 }],
}

describe('a catalog sync after a PUT served by another isolate', () => {
  it('keeps the PUT (POST /v1/admin/catalog/sync)', async () => {
    await installCatalog() // this isolate has the catalog in memory, read just now
    // Another isolate serves the operator's PUT: KV holds the new document.
    const edited = { ...testCatalog, version: 'operator-edit', models: [...testCatalog.models.filter((m) => m.id !== 'test/dark'), NEW_MODEL] }
    await env.KV.put(CATALOG_KV_KEY, JSON.stringify(edited))
    const response = await adminFetch('/v1/admin/catalog/sync', {
      method: 'POST',
      body: JSON.stringify({ source: 'openrouter', document: openrouter, providers: { openrouter: { region: FRANKFURT } } }),
    })
    expect(response.status).toBe(200)
    const after = await stored()
    expect(after?.version).toBe('operator-edit')
    expect(after?.models.map((m) => m.id)).toContain('test/new')
    expect(after?.models.map((m) => m.id)).not.toContain('test/dark')
  })

  it('keeps the PUT (the hourly cron)', async () => {
    await installCatalog()
    const options = SyncOptionsSchema.parse({ source: 'openrouter', url: 'http://127.0.0.1:9999/models.json', providers: { openrouter: { region: FRANKFURT } } })
    await scheduleSync(env, { ...options, schedule: true }, Date.now() - 2 * 60 * 60_000)
    await env.KV.put(CATALOG_KV_KEY, JSON.stringify({ ...testCatalog, version: 'operator-edit' }))
    const report = await runScheduledSync(env, Date.now(), async () => Response.json(openrouter))
    expect(report?.changed).toBe(true)
    expect((await stored())?.version).toBe('operator-edit')
  })
})

import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import type { CatalogDocument } from '../../../src/catalog/schema'
import { CATALOG_KV_KEY } from '../../../src/catalog/store'
import { runScheduledSync, scheduleSync, SYNC_OPTIONS_KV_KEY, SyncOptionsSchema } from '../../../src/catalog/sync'
import { GatewayError } from '../../../src/errors'
import { installCatalog } from '../../support/gateway'
import openrouter from '../../fixtures/openrouter-models.json'

const HOUR = 60 * 60_000
const T0 = Date.UTC(2026, 10, 22, 10, 30)
const URL = 'http://127.0.0.1:9999/models.json'
const options = SyncOptionsSchema.parse({ source: 'openrouter', url: URL, providers: { openrouter: { region: { name: 'frankfurt', lat: 50.1, lon: 8.7 } } } })
const fetcher = vi.fn<typeof fetch>(async () => Response.json(openrouter))
const modelIds = async () => (await env.KV.get<CatalogDocument>(CATALOG_KV_KEY, 'json'))?.models.map((m) => m.id)

describe('runScheduledSync', () => {
  beforeAll(async () => {
    await installCatalog()
    await env.KV.delete(SYNC_OPTIONS_KV_KEY)
  })

  it('does nothing while no options are stored', async () => {
    expect(await runScheduledSync(env, T0, fetcher)).toBeNull()
    expect(fetcher).not.toHaveBeenCalled()
  })

  it('repeats the stored sync at the first tick of each hour after the last run', async () => {
    await scheduleSync(env, { ...options, schedule: true }, T0)
    expect(await runScheduledSync(env, T0 + 20 * 60_000, fetcher)).toBeNull()
    expect(fetcher).not.toHaveBeenCalled()

    const report = await runScheduledSync(env, T0 + 30 * 60_000, fetcher)
    expect(report).toMatchObject({ source: 'openrouter', url: URL, models_imported: 5, changed: true })
    expect(fetcher.mock.calls.map(([url]) => url)).toEqual([URL])
    expect(await modelIds()).toContain('openai/gpt-4o-mini')

    expect(await runScheduledSync(env, T0 + 50 * 60_000, fetcher)).toBeNull()
    expect(await runScheduledSync(env, T0 + 90 * 60_000, fetcher)).toMatchObject({ models_imported: 5, changed: false })
    expect(fetcher).toHaveBeenCalledTimes(2)
  })

  it('throws when the source fails, and waits for the next hour rather than retrying every tick', async () => {
    const failing = vi.fn<typeof fetch>(async () => new Response('down', { status: 500 }))
    await expect(runScheduledSync(env, T0 + 3 * HOUR, failing)).rejects.toThrow(GatewayError)
    expect(await runScheduledSync(env, T0 + 3 * HOUR + 10 * 60_000, failing)).toBeNull()
    expect(failing).toHaveBeenCalledTimes(1)
    expect(await modelIds()).toContain('openai/gpt-4o-mini')
  })
})

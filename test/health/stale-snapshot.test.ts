import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp } from '../../src/app'
import type { CatalogInput } from '../../src/catalog/schema'
import { HEALTH_KV_KEY } from '../../src/health/health-do'
import { forgetPublishedHealth } from '../../src/health/snapshot'
import type { HealthView } from '../../src/health/types'
import { createKey, forgetServedHealth, installCatalog } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion, type UpstreamHandler } from '../support/upstream'

/**
 * The isolate's copy of the published snapshot is served while a background refresh runs, so
 * after a quiet spell the first request routes on a copy as old as the spell. Its circuits are
 * aged to now; so is the error rate of its window: an hour-old window holds nothing now.
 */
const EU = 'http://127.0.0.1:9221/v1'
const US = 'http://127.0.0.1:9222/v1'
const region = (name: string, lat: number, lon: number) => ({ name, lat, lon })
const catalog: CatalogInput = {
  version: 'stale',
  providers: [
    { id: 'eu', name: 'EU', format: 'openai', baseUrl: EU, apiKeyEnv: 'TEST_PROVIDER_KEY', region: region('Frankfurt', 50.11, 8.68), dataCollection: 'deny' },
    { id: 'us', name: 'US', format: 'openai', baseUrl: US, apiKeyEnv: 'TEST_PROVIDER_KEY', region: region('Ashburn', 39.04, -77.49), dataCollection: 'deny' },
  ],
  models: [
    {
      id: 'stale/chat',
      name: 'Stale chat',
      contextLength: 32000,
      modalities: { input: ['text'], output: ['text'] },
      endpoints: ['eu', 'us'].map((provider) => ({ provider, upstreamModel: 'm', pricing: { prompt: '0.000001', completion: '0.000001' }, maxCompletionTokens: 1000 })),
    },
  ],
}
const FRANKFURT = { latitude: '50.11', longitude: '8.68', colo: 'FRA' }

let key: string
let now = Date.parse('2026-11-22T12:00:00Z')
const app = createApp({ clock: () => now })
const settings = { ...env, ROUTING_TIE_BAND_MS: '0', HEALTH_FLUSH_MS: '1' }

beforeAll(async () => {
  await installCatalog(catalog)
  key = (await createKey({ name: 'stale' })).key
})
beforeEach(forgetServedHealth)
afterEach(() => vi.restoreAllMocks())

async function ask(): Promise<string | null> {
  const ctx = createExecutionContext()
  const request = new Request('http://gateway.test/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'stale/chat', messages: [{ role: 'user', content: 'hi' }] }),
    cf: FRANKFURT,
  } as RequestInit)
  const response = await app.fetch(request, settings, ctx)
  await response.arrayBuffer()
  await waitOnExecutionContext(ctx)
  return response.headers.get('x-meridian-provider')
}

const ok: UpstreamHandler = () => {
  now += 300
  return jsonResponse(openaiCompletion())
}

describe('a published error rate, an hour after it was published', () => {
  it('no longer steers the first request after a quiet spell away from the nearest provider', async () => {
    fakeUpstreams({ [EU]: ok, [US]: ok })
    // During an incident: 4 of eu's last 10 attempts failed (not enough to open its circuit).
    const incident: HealthView = { circuit: 'closed', coolingUntil: null, errorRate: 0.4, samples: 10, ttfbMs: 300, tokensPerSecond: 50, lastSeen: now }
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: now, endpoints: { 'stale/chat@eu': incident } }))
    forgetPublishedHealth(env)
    expect(await ask()).toBe('us') // steered away while the incident is current
    // An hour of silence: the copy the isolate keeps is served while it refreshes.
    now += 3_600_000
    expect(await ask()).toBe('eu')
  })
})

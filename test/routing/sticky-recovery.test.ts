import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp } from '../../src/app'
import type { CatalogInput } from '../../src/catalog/schema'
import { configOf } from '../../src/config'
import type { Env } from '../../src/env'
import { hash53 } from '../../src/hash'
import { rendezvous } from '../../src/routing/sticky'
import { createKey, forgetServedHealth, installCatalog } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * A sticky conversation whose provider had a latency spike: once a renewal finds the provider fast
 * again it gets the conversation back, and keeps it (docs/routing.md: "within one stale period").
 * The renewing sample replaces the stale figure (stats.ts sampleWeight), so no remnant of the spike
 * keeps the provider out of its equals' tie band.
 */

const A = 'http://127.0.0.1:9241/v1'
const B = 'http://127.0.0.1:9242/v1'
const MODEL = 'sticky/chat'
const catalog: CatalogInput = {
  version: 'sticky-recovery',
  providers: ['a', 'b'].map((id) => ({
    id,
    name: id.toUpperCase(),
    format: 'openai' as const,
    baseUrl: id === 'a' ? A : B,
    apiKeyEnv: 'TEST_PROVIDER_KEY',
    region: { name: 'Frankfurt', lat: 50.11, lon: 8.68 },
    dataCollection: 'deny' as const,
  })),
  models: [
    {
      id: MODEL,
      name: MODEL,
      contextLength: 32000,
      modalities: { input: ['text'], output: ['text'] },
      endpoints: ['a', 'b'].map((provider) => ({ provider, upstreamModel: 'm', pricing: { prompt: '0.000003', completion: '0.000015', cacheRead: '0.0000003' }, maxCompletionTokens: 1000 })),
    },
  ],
}

let key: string
let now = Date.parse('2026-11-22T12:00:00Z')
const app = createApp({ clock: () => now })
// The default tie band (10 ms): equals in one region.
const settings: Env = { ...env, HEALTH_FLUSH_MS: '1' }
const STALE_MS = configOf(settings).HEALTH_STALE_MS

/** A session id whose rendezvous order puts `a` first. */
const SESSION = Array.from({ length: 100 }, (_, i) => `session-${i}`).find(
  (id) => rendezvous([`${MODEL}@a`, `${MODEL}@b`], { source: 'x-claude-code-session-id', hash: hash53(id) }, (k) => k)[0] === `${MODEL}@a`,
)!

beforeAll(async () => {
  await installCatalog(catalog)
  key = (await createKey({ name: 'sticky-recovery' })).key
})
beforeEach(forgetServedHealth)
afterEach(() => vi.restoreAllMocks())

async function ask(headers: Record<string, string>, content = 'hi'): Promise<string | null> {
  const ctx = createExecutionContext()
  const request = new Request('http://gateway.test/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }] }),
    cf: { latitude: '50.11', longitude: '8.68', colo: 'FRA' },
  } as RequestInit)
  const response = await app.fetch(request, settings, ctx)
  await response.arrayBuffer()
  await waitOnExecutionContext(ctx)
  return response.headers.get('x-meridian-provider')
}

describe('a sticky session after its provider’s latency spike', () => {
  it('returns to its provider once a renewal finds it fast again, and stays there', async () => {
    now += 3_600_000
    let aMs = 300
    fakeUpstreams({
      [A]: () => {
        now += aMs
        return jsonResponse(openaiCompletion())
      },
      [B]: () => {
        now += 300
        return jsonResponse(openaiCompletion())
      },
    })
    const session = { 'x-claude-code-session-id': SESSION }
    for (let i = 0; i < 6; i++) await ask({}, `warm-up ${i}`)
    for (let i = 0; i < 3; i++) expect(await ask(session)).toBe('a')
    aMs = 5_000
    expect(await ask(session)).toBe('a')
    aMs = 300
    expect(await ask(session)).toBe('b')
    const served: (string | null)[] = []
    const until = now + 2 * STALE_MS
    while (now < until) {
      served.push(await ask(session))
      now += 1_000
    }
    const back = served.indexOf('a')
    expect(back).toBeGreaterThanOrEqual(0)
    expect(back).toBeLessThanOrEqual(Math.ceil(STALE_MS / 1_300) + 1)
    expect(served.slice(back).join(' ')).toBe(Array(served.length - back).fill('a').join(' '))
  }, 60_000)
})

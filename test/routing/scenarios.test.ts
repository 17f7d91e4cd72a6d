import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp } from '../../src/app'
import { configOf } from '../../src/config'
import type { CatalogInput } from '../../src/catalog/schema'
import { PRIOR_TTFB_MS } from '../../src/routing/score'
import { createKey, forgetServedHealth, installCatalog } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion, type UpstreamHandler } from '../support/upstream'

/**
 * Routing scenarios through the front door, with an injected clock: who gets the first attempt as
 * providers fail, recover, rate-limit and slow down, and where clients in different places go.
 */

const EU = 'http://127.0.0.1:9201/v1'
const US = 'http://127.0.0.1:9202/v1'
const AP = 'http://127.0.0.1:9203/v1'

const region = (name: string, lat: number, lon: number) => ({ name, lat, lon })
const geoCatalog: CatalogInput = {
  version: 'geo',
  providers: [
    { id: 'eu', name: 'EU', format: 'openai', baseUrl: EU, apiKeyEnv: 'TEST_PROVIDER_KEY', region: region('Frankfurt', 50.11, 8.68), dataCollection: 'deny' },
    { id: 'us', name: 'US', format: 'openai', baseUrl: US, apiKeyEnv: 'TEST_PROVIDER_KEY', region: region('Ashburn', 39.04, -77.49), dataCollection: 'deny' },
    { id: 'ap', name: 'AP', format: 'openai', baseUrl: AP, apiKeyEnv: 'TEST_PROVIDER_KEY', region: region('Singapore', 1.35, 103.82), dataCollection: 'deny' },
  ],
  models: [
    {
      id: 'geo/chat',
      name: 'Geo chat',
      contextLength: 32000,
      modalities: { input: ['text'], output: ['text'] },
      endpoints: ['eu', 'us', 'ap'].map((provider) => ({
        provider,
        upstreamModel: 'm',
        pricing: { prompt: '0.000001', completion: '0.000001' },
        maxCompletionTokens: 1000,
      })),
    },
  ],
}

const FRANKFURT = { latitude: '50.11', longitude: '8.68', colo: 'FRA' }
const SINGAPORE = { latitude: '1.29', longitude: '103.85', colo: 'SIN' }
const NEW_YORK = { latitude: '40.71', longitude: '-74.01', colo: 'EWR' }

let key: string
let now = Date.parse('2026-11-22T12:00:00Z')
const app = createApp({ clock: () => now })
const settings = { ...env, ROUTING_TIE_BAND_MS: '0', HEALTH_FLUSH_MS: '1' }
const STALE_MS = configOf(settings).HEALTH_STALE_MS

beforeAll(async () => {
  await installCatalog(geoCatalog)
  key = (await createKey({ name: 'geo' })).key
})
beforeEach(forgetServedHealth)
afterEach(() => {
  vi.restoreAllMocks()
})

/** One request from a place; returns who served it and after how many attempts. */
async function ask(cf: object, as = key): Promise<{ provider: string | null; attempts: number; status: number }> {
  const ctx = createExecutionContext()
  const request = new Request('http://gateway.test/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${as}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'geo/chat', messages: [{ role: 'user', content: 'hi' }] }),
    cf,
  } as RequestInit)
  const response = await app.fetch(request, settings, ctx)
  await response.arrayBuffer()
  await waitOnExecutionContext(ctx)
  return { provider: response.headers.get('x-meridian-provider'), attempts: Number(response.headers.get('x-meridian-attempts')), status: response.status }
}

/** Asks until eu has answered once (slowly), then keeps to us, as routing should, until eu's figure is stale. */
async function shunUntilStale(euCalls: () => number, euSeenAt: () => number): Promise<void> {
  for (let i = 0; i < 3 && euCalls() === 0; i++) await ask(FRANKFURT)
  expect(euCalls()).toBe(1)
  while (now < euSeenAt() + STALE_MS) {
    expect((await ask(FRANKFURT)).provider).toBe('us')
    now += 1_000
  }
}

/** Every provider answers in the prior's 500 ms, so only health and distance tell them apart. */
const ok: UpstreamHandler = () => {
  now += PRIOR_TTFB_MS
  return jsonResponse(openaiCompletion())
}
const down: UpstreamHandler = () => jsonResponse({ error: { message: 'down' } }, 500)

describe('routing scenarios', () => {
  it.each([
    ['Frankfurt', FRANKFURT, 'eu'],
    ['Singapore', SINGAPORE, 'ap'],
    ['New York', NEW_YORK, 'us'],
  ])('a client in %s is served by the nearest endpoint', async (_place, cf, provider) => {
    fakeUpstreams({ [EU]: ok, [US]: ok, [AP]: ok })
    expect(await ask(cf)).toEqual({ provider, attempts: 1, status: 200 })
  })

  it('stops sending first attempts to a failing provider after three failures, and brings it back through a half-open probe', async () => {
    let euHealthy = false
    const upstream = fakeUpstreams({ [EU]: () => (euHealthy ? ok({} as never) : down({} as never)), [US]: ok, [AP]: ok })
    const served = []
    for (let i = 0; i < 10; i++) {
      served.push(await ask(FRANKFURT))
      now += 1_000
    }
    expect(served.every((r) => r.status === 200 && r.provider === 'us')).toBe(true)
    expect(served.map((r) => r.attempts)).toEqual([2, 2, 2, 1, 1, 1, 1, 1, 1, 1])
    expect(upstream.calls.filter((call) => call.url.startsWith(EU))).toHaveLength(3)

    // Still open before CIRCUIT_OPEN_MS has passed since it opened…
    euHealthy = true
    expect((await ask(FRANKFURT)).provider).toBe('us')
    // …then half-open (CIRCUIT_OPEN_MS, 20 s): the next request probes it, and its success closes the circuit.
    now += 30_000
    expect(await ask(FRANKFURT)).toMatchObject({ provider: 'eu', attempts: 1 })
    expect((await ask(FRANKFURT)).provider).toBe('eu')
  })

  it('re-opens the circuit when the half-open probe fails', async () => {
    fakeUpstreams({ [EU]: down, [US]: ok, [AP]: ok })
    for (let i = 0; i < 3; i++) await ask(FRANKFURT)
    now += 30_000
    expect(await ask(FRANKFURT)).toMatchObject({ provider: 'us', attempts: 2 })
    expect(await ask(FRANKFURT)).toMatchObject({ provider: 'us', attempts: 1 })
  })

  it('respects a 429 Retry-After, then returns to the provider', async () => {
    let limited = true
    const upstream = fakeUpstreams({
      [EU]: () => (limited ? jsonResponse({ error: { message: 'slow down' } }, 429, { 'retry-after': '20' }) : ok({} as never)),
      [US]: ok,
      [AP]: ok,
    })
    expect(await ask(FRANKFURT)).toMatchObject({ provider: 'us', attempts: 2 })
    limited = false
    now += 19_000
    expect(await ask(FRANKFURT)).toMatchObject({ provider: 'us', attempts: 1 })
    now += 2_000
    expect(await ask(FRANKFURT)).toMatchObject({ provider: 'eu', attempts: 1 })
    expect(upstream.calls.filter((call) => call.url.startsWith(EU))).toHaveLength(2)
  })

  it.each([
    ['a fractional Retry-After', { 'retry-after': '2.5' }],
    ["OpenAI's retry-after-ms", { 'retry-after-ms': '2500', 'retry-after': '3' }],
  ])('respects %s, not the default cool-down', async (_label, headers) => {
    let limited = true
    fakeUpstreams({
      [EU]: () => (limited ? jsonResponse({ error: { message: 'slow down' } }, 429, headers) : ok({} as never)),
      [US]: ok,
      [AP]: ok,
    })
    expect(await ask(FRANKFURT)).toMatchObject({ provider: 'us', attempts: 2 })
    limited = false
    now += 1_000 // 1.5 s after the 429 (each answer here takes 0.5 s)
    expect(await ask(FRANKFURT)).toMatchObject({ provider: 'us', attempts: 1 })
    now += 500 // 2.5 s
    expect(await ask(FRANKFURT)).toMatchObject({ provider: 'eu', attempts: 1 })
  })

  it("keeps off a provider for a 503's Retry-After, though one failure opens no circuit", async () => {
    let down = true
    const upstream = fakeUpstreams({
      [EU]: () => (down ? jsonResponse({ error: { message: 'maintenance' } }, 503, { 'retry-after': '20' }) : ok({} as never)),
      [US]: ok,
      [AP]: ok,
    })
    expect(await ask(FRANKFURT)).toMatchObject({ provider: 'us', attempts: 2 })
    down = false
    now += 19_000
    expect(await ask(FRANKFURT)).toMatchObject({ provider: 'us', attempts: 1 })
    now += 2_000
    expect(await ask(FRANKFURT)).toMatchObject({ provider: 'eu', attempts: 1 })
    expect(upstream.calls.filter((call) => call.url.startsWith(EU))).toHaveLength(2)
  })

  it('moves first place from a slow provider to a fast one', async () => {
    const slow: UpstreamHandler = () => {
      now += 3_000
      return jsonResponse(openaiCompletion())
    }
    const fast: UpstreamHandler = () => {
      now += 200
      return jsonResponse(openaiCompletion())
    }
    fakeUpstreams({ [EU]: slow, [US]: fast, [AP]: fast })
    expect((await ask(FRANKFURT)).provider).toBe('eu')
    expect((await ask(FRANKFURT)).provider).toBe('us')
    expect((await ask(FRANKFURT)).provider).toBe('us')
  })

  it('after a latency spike, renews the stale figure with one request at a time, and returns once the provider is fast again', async () => {
    now += 3_600_000 // whatever earlier tests observed is long stale
    let euMs = 3_000
    const timed = (ms: () => number): UpstreamHandler => () => {
      now += ms()
      return jsonResponse(openaiCompletion())
    }
    const upstream = fakeUpstreams({ [EU]: timed(() => euMs), [US]: timed(() => 200), [AP]: timed(() => 200) })
    const euCalls = () => upstream.calls.filter((call) => call.url.startsWith(EU)).length
    for (let i = 0; i < 3 && euCalls() === 0; i++) await ask(FRANKFURT)
    expect(euCalls()).toBe(1)
    const servedBy = async (requests: number) => {
      const providers: (string | null)[] = []
      for (let i = 0; i < requests; i++) {
        providers.push((await ask(FRANKFURT)).provider)
        now += 1_000
      }
      return providers
    }
    // One request a second or so (each answer takes 200 ms): a stale period is this many requests.
    const period = Math.ceil(STALE_MS / 1_200)
    // Still slow: shunned until its figure is stale, then one request renews it (slow again), and
    // the rest keep to the fast provider.
    const spike = await servedBy(period + 10)
    expect(spike.filter((provider) => provider === 'eu')).toHaveLength(1)
    expect(euCalls()).toBe(2)
    // Fast again: within one stale period a request finds out, and first place returns to eu.
    euMs = 20
    const after = await servedBy(period + 5)
    const back = after.indexOf('eu')
    expect(back).toBeGreaterThanOrEqual(0)
    expect(back).toBeLessThanOrEqual(period)
    expect(after.slice(back).every((provider) => provider === 'eu')).toBe(true)
  })

  it('sends one request at a time to renew a stale figure: the others keep to what they know meanwhile', async () => {
    now += 3_600_000 // whatever earlier tests observed is long stale
    let gate: Promise<void> | null = null
    let euSeenAt = 0
    const answer = (ms: number) => {
      now += ms
      return jsonResponse(openaiCompletion())
    }
    const upstream = fakeUpstreams({
      [EU]: async () => {
        if (gate) await gate
        const response = answer(gate ? 0 : 3_000)
        euSeenAt = now
        return response
      },
      [US]: () => answer(200),
      [AP]: () => answer(200),
    })
    const euCalls = () => upstream.calls.filter((call) => call.url.startsWith(EU)).length
    await shunUntilStale(euCalls, () => euSeenAt)
    let release: () => void = () => {}
    gate = new Promise<void>((resolve) => (release = resolve))
    const renewing = ask(FRANKFURT)
    // While the renewal is in flight, the next requests are not sent to the stale endpoint.
    expect((await ask(FRANKFURT)).provider).toBe('us')
    expect((await ask(FRANKFURT)).provider).toBe('us')
    expect(euCalls()).toBe(2)
    release()
    expect((await renewing).provider).toBe('eu')
  })

  it('gives the renewal back when admission leaves the stale endpoint out, so the next request makes it', async () => {
    now += 3_600_000
    const usOnly = (await createKey({ name: 'us only', allowed_providers: ['us'] })).key
    let euSeenAt = 0
    const upstream = fakeUpstreams({
      [EU]: () => {
        now += 3_000
        euSeenAt = now
        return jsonResponse(openaiCompletion())
      },
      [US]: () => jsonResponse(openaiCompletion()),
      [AP]: () => jsonResponse(openaiCompletion()),
    })
    const euCalls = () => upstream.calls.filter((call) => call.url.startsWith(EU)).length
    await shunUntilStale(euCalls, () => euSeenAt)
    // The plan would renew eu, but this key may not use it: served by us, and the renewal is not taken.
    expect((await ask(FRANKFURT, usOnly)).provider).toBe('us')
    expect((await ask(FRANKFURT)).provider).toBe('eu')
  })
})

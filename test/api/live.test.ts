import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { HEALTH_KV_KEY, healthObject } from '../../src/health/health-do'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { chat, createKey, gatewayFetch, readSse, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion, openaiStreamEvents, sseResponse } from '../support/upstream'

const tenant = setUpGateway()

const NOW = Date.now()

describe('live catalog data', () => {
  it('GET /v1/models/{author}/{slug}/endpoints shows every endpoint with live health', async () => {
    await healthObject(env).report([
      { endpoint: 'test/chat@alpha', kind: 'success', at: NOW, ttfbMs: 250, tokensPerSecond: 80, retryAfterMs: null },
      { endpoint: 'test/chat@alpha', kind: 'server_error', at: NOW, ttfbMs: null, tokensPerSecond: null, retryAfterMs: null },
      ...[1, 2, 3].map(() => ({ endpoint: 'test/chat@gamma', kind: 'timeout' as const, at: NOW, ttfbMs: null, tokensPerSecond: null, retryAfterMs: null })),
      { endpoint: 'test/chat@beta', kind: 'rate_limited', at: NOW, ttfbMs: null, tokensPerSecond: null, retryAfterMs: 60_000 },
    ])
    // The public routes read the published snapshot (never the HealthDO itself).
    await healthObject(env).publish(Date.now())
    const response = await gatewayFetch('/api/v1/models/test/chat/endpoints')
    expect(response.status).toBe(200)
    const { data } = (await response.json()) as { data: { id: string; endpoints: Record<string, any>[] } }
    expect(data.id).toBe('test/chat')
    const [alpha, beta, gamma] = data.endpoints
    expect(alpha).toMatchObject({
      name: 'Alpha: test/chat',
      provider_name: 'Alpha',
      tag: 'alpha',
      context_length: 128000,
      max_completion_tokens: 4096,
      pricing: { prompt: '0.000001', completion: '0.000002' },
      status: 0,
      live: true,
      circuit: 'closed',
      uptime_last_5m: 50,
      latency_last_30m: { p50: 0.25 },
    })
    expect(beta).toMatchObject({ status: -2, circuit: 'closed' })
    expect(beta!.cooling_until).toBeGreaterThan(NOW)
    expect(gamma).toMatchObject({ status: -3, circuit: 'open', uptime_last_5m: 0 })
    expect((await gatewayFetch('/v1/models/nobody/none/endpoints')).status).toBe(404)
  })

  it('shows what time alone has changed since the last snapshot: a cooldown that has passed is none, an open circuit ages to half-open', async () => {
    const now = Date.now()
    const percentiles = { p50: 0.3, p75: 0.4, p90: 0.5, p99: 0.9 }
    const stats = { errorRate: 1, samples: 3, ttfbMs: null, tokensPerSecond: null, uptime_last_5m: 40, uptime_last_30m: 80, uptime_last_1d: 95, latency_last_30m: percentiles, throughput_last_30m: percentiles }
    // The HealthDO stopped publishing when reports stopped: a 429 with Retry-After: 120 at now − 200 s, a circuit opened at now − 10 min.
    const cooled = { ...stats, circuit: 'closed', coolingUntil: now - 80_000, cooling_until: now - 80_000, lastSeen: now - 200_000 }
    const opened = { ...stats, circuit: 'open', coolingUntil: null, cooling_until: null, lastSeen: now - 600_000 }
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: now - 130_000, endpoints: { 'test/chat@beta': cooled, 'test/chat@gamma': opened } }))
    const { data } = (await (await gatewayFetch('/api/v1/models/test/chat/endpoints')).json()) as { data: { endpoints: Record<string, any>[] } }
    const [, beta, gamma] = data.endpoints
    // Windows with no observation left in them hold none: beta was last seen 200 s ago, gamma 10 min ago.
    expect(beta).toMatchObject({ status: 0, circuit: 'closed', cooling_until: null, uptime_last_5m: 40, uptime_last_30m: 80, latency_last_30m: percentiles })
    expect(gamma).toMatchObject({ status: -1, circuit: 'half_open', uptime_last_5m: null, uptime_last_30m: 80, uptime_last_1d: 95 })
    const providers = (await (await gatewayFetch('/v1/providers')).json()) as { data: { slug: string; endpoints: Record<string, any>[] }[] }
    expect(providers.data.find((p) => p.slug === 'beta')!.endpoints[0]).toMatchObject({ endpoint: 'test/chat@beta', cooling_until: null })
    expect(providers.data.find((p) => p.slug === 'gamma')!.endpoints[0]).toMatchObject({ endpoint: 'test/chat@gamma', circuit: 'half_open' })
  })

  it('GET /v1/providers lists providers with their endpoints, never their secrets', async () => {
    const response = await gatewayFetch('/v1/providers')
    const { data } = (await response.json()) as { data: Record<string, any>[] }
    expect(data.map((p) => [p.slug, p.live])).toEqual([
      ['alpha', true],
      ['beta', true],
      ['gamma', true],
      ['dark', false],
    ])
    expect(data[0]).toMatchObject({ name: 'Alpha', format: 'openai', data_collection: 'deny', endpoints: [{ endpoint: 'test/chat@alpha' }] })
    const text = JSON.stringify(data)
    expect(text).not.toContain('test-upstream-key')
    expect(text).not.toContain('TEST_PROVIDER_KEY')
  })
})

describe('the routing trace', () => {
  it('is in the body with X-Meridian-Debug: route, and not without it', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse({ error: { message: 'down' } }, 500), [BETA]: () => jsonResponse({ error: { message: 'x' } }, 503), [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const traced = await gatewayFetch('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'x-meridian-debug': 'route' },
      body: JSON.stringify({ model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], provider: { ignore: ['dark'] } }),
      cf: { latitude: '50.1', longitude: '8.7', colo: 'FRA' },
    })
    const body = (await traced.json()) as { meridian_route: Record<string, any>; openrouter_metadata: Record<string, any> }
    expect(body.meridian_route).toMatchObject({
      strategy: 'nearest-healthy',
      client: { colo: 'FRA' },
      requested_models: ['test/chat'],
      candidates: [{ provider: 'alpha', position: 0 }, { provider: 'beta' }, { provider: 'gamma' }],
      attempts: [
        { provider: 'alpha', outcome: 'upstream_error', status: 500 },
        { provider: 'beta', outcome: 'upstream_error', status: 503 },
        { provider: 'gamma', outcome: 'success', status: 200 },
      ],
    })
    expect(body.meridian_route.candidates[0]).toHaveProperty('score')
    expect(body.meridian_route.candidates[0]).toHaveProperty('distance_km')
    expect(body.openrouter_metadata).toMatchObject({ strategy: 'nearest-healthy', attempt: 3, endpoints: { total: 3 } })
    const plain = (await (await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] })).json()) as Record<string, unknown>
    expect(plain.meridian_route).toBeUndefined()
    expect(plain.openrouter_metadata).toBeUndefined()
  })

  it('shows a key limited to some providers only those among the candidates', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()), [BETA]: () => jsonResponse(openaiCompletion()), [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'g' })) })
    const { key } = await createKey({ name: 'gamma only', allowed_providers: ['gamma'] })
    const response = await gatewayFetch('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-openrouter-metadata': 'enabled' },
      body: JSON.stringify({ model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] }),
    })
    const body = (await response.json()) as { meridian_route: { candidates: { provider: string }[] }; openrouter_metadata: { endpoints: { total: number; available: { provider: string }[] } } }
    expect(body.openrouter_metadata.endpoints).toMatchObject({ total: 1, available: [{ provider: 'gamma' }] })
    expect(body.meridian_route.candidates.map((candidate) => candidate.provider)).toEqual(['gamma'])
    // Nor in what a filter removed.
    const only = await gatewayFetch('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-meridian-debug': 'route' },
      body: JSON.stringify({ model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], provider: { only: ['gamma'] } }),
    })
    const traced = (await only.json()) as { meridian_route: { filtered: { removed: string[] }[] } }
    expect(traced.meridian_route.filtered.flatMap((step) => step.removed)).toEqual([])
  })

  it('shows a key with no allow-lists every candidate, past the attempts admission kept', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()), [BETA]: () => jsonResponse(openaiCompletion()), [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const response = await gatewayFetch('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json', 'x-openrouter-metadata': 'enabled' },
      body: JSON.stringify({ model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], provider: { allow_fallbacks: false } }),
    })
    const body = (await response.json()) as { meridian_route: { candidates: unknown[] }; openrouter_metadata: { endpoints: { total: number } } }
    expect([body.meridian_route.candidates.length, body.openrouter_metadata.endpoints.total]).toEqual([3, 3])
  })

  it('gives openrouter_metadata the fields OpenRouter’s SDK requires: a summary, is_byok, a status (0: none) for every attempt', async () => {
    // Alpha and Beta refuse the connection (no handler): attempts with no HTTP status.
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const response = await gatewayFetch('/api/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json', 'x-openrouter-metadata': 'enabled' },
      body: JSON.stringify({ model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] }),
    })
    const body = (await response.json()) as { openrouter_metadata: Record<string, unknown> }
    expect(body.openrouter_metadata).toMatchObject({
      requested: 'test/chat',
      is_byok: false,
      summary: 'Served by gamma (test/chat) on attempt 3 of 3',
      attempts: [{ status: 0 }, { status: 0 }, { status: 200 }],
    })
  })

  it('rides on the final usage chunk of a stream with X-OpenRouter-Metadata: enabled', async () => {
    fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['hi'])) })
    const response = await gatewayFetch('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'x-openrouter-metadata': 'enabled' },
      body: JSON.stringify({ model: 'test/chat', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    })
    const { data } = await readSse(response)
    expect(data.at(-1)).toMatchObject({ choices: [], meridian_route: { attempts: [{ provider: 'alpha', outcome: 'success' }] } })
  })
})

import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CatalogSchema, type CatalogInput } from '../../src/catalog/schema'
import { compileCatalog } from '../../src/catalog/snapshot'
import { configOf } from '../../src/config'
import { healthObject } from '../../src/health/health-do'
import { chooseProbes, MAX_PROBES_PER_RUN, PROBE_CONCURRENCY, probeEndpoints } from '../../src/health/probes'
import type { HealthLookup, HealthView } from '../../src/health/types'
import { ALPHA, BETA, GAMMA, testCatalog } from '../support/catalog'
import { jsonResponse, openaiCompletion } from '../support/upstream'

afterEach(() => {
  vi.restoreAllMocks()
})

const catalog = compileCatalog(CatalogSchema.parse(testCatalog))
const idle = configOf(env).PROBE_IDLE_MS
const nothingKnown: HealthLookup = () => undefined

interface Sent {
  url: string
  body: Record<string, unknown>
  signal: AbortSignal | null | undefined
}

/** A fake fleet: alpha answers, beta is rate limited, gamma's chat model is down and its other model hangs until timeout. */
function fleet() {
  const sent: Sent[] = []
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init)
    const body = (await request.json()) as Record<string, unknown>
    sent.push({ url: request.url, body, signal: init?.signal })
    if (request.url.startsWith(ALPHA)) return jsonResponse(openaiCompletion({ content: 'p' }))
    if (request.url.startsWith(BETA)) return jsonResponse({ error: 'slow down' }, 429, { 'retry-after': '7' })
    if (request.url.startsWith(GAMMA) && body.model === 'gamma-chat') return jsonResponse({ error: 'boom' }, 503)
    if (request.url.startsWith(GAMMA)) throw new DOMException('The operation timed out.', 'TimeoutError')
    throw new TypeError('fetch failed: connection refused')
  }
  return { sent, fetcher }
}

describe('probeEndpoints', () => {
  it('pings every live endpoint nothing is known about, classifies each answer and reports it', async () => {
    const { sent, fetcher } = fleet()
    const now = Date.now()
    const observations = await probeEndpoints(env, catalog, nothingKnown, now, fetcher)

    const kinds = Object.fromEntries(observations.map((o) => [o.endpoint, o.kind]))
    expect(kinds).toEqual({
      'test/chat@alpha': 'success',
      'test/chat@beta': 'rate_limited',
      'test/claude@beta': 'rate_limited',
      'test/chat@gamma': 'server_error',
      'test/other@gamma': 'timeout',
    }) // test/dark@dark is not live: its secret is unset
    expect(observations.find((o) => o.endpoint === 'test/chat@beta')?.retryAfterMs).toBe(7_000)
    expect(observations.find((o) => o.endpoint === 'test/chat@alpha')?.ttfbMs).toEqual(expect.any(Number))

    const alpha = sent.find((s) => s.url.startsWith(ALPHA))!
    expect(alpha.body).toMatchObject({ model: 'alpha-chat', max_tokens: 1, stream: false, messages: [{ role: 'user', content: 'ping' }] })
    expect(sent.find((s) => s.url.startsWith(BETA))!.body).toMatchObject({ model: 'claude-test', max_tokens: 1 })
    expect(sent.every((s) => s.signal instanceof AbortSignal)).toBe(true)

    const stats = await healthObject(env).stats(now)
    expect(stats.endpoints['test/chat@alpha']).toMatchObject({ samples: 1, errorRate: 0 })
    expect(stats.endpoints['test/chat@gamma']).toMatchObject({ samples: 1, errorRate: 1 })
    expect(stats.endpoints['test/dark@dark']).toBeUndefined()
  })

  it('has at most PROBE_CONCURRENCY probes in flight (an invocation opens six connections at once), each timed from its own start', async () => {
    const many = compileCatalog(
      CatalogSchema.parse({
        ...testCatalog,
        models: Array.from({ length: 15 }, (_, i) => ({ ...testCatalog.models[2]!, id: `test/m${i}`, endpoints: [{ ...testCatalog.models[2]!.endpoints[0]!, provider: 'alpha' }] })),
      }),
    )
    let inFlight = 0
    let most = 0
    const fetcher: typeof fetch = async () => {
      inFlight++
      most = Math.max(most, inFlight)
      await new Promise((resolve) => setTimeout(resolve, 5))
      inFlight--
      return jsonResponse(openaiCompletion({ content: 'p' }))
    }
    const observations = await probeEndpoints(env, many, nothingKnown, Date.now(), fetcher)
    expect(observations).toHaveLength(15)
    expect(observations.every((o) => o.kind === 'success')).toBe(true)
    expect(most).toBe(PROBE_CONCURRENCY)
  })

  it('dates a probe queued behind the first six when it was answered, not a wave earlier', async () => {
    const many = compileCatalog(
      CatalogSchema.parse({
        ...testCatalog,
        models: Array.from({ length: 12 }, (_, i) => ({ ...testCatalog.models[0]!, id: `test/m${i}`, endpoints: [{ ...testCatalog.models[0]!.endpoints[0]!, upstreamModel: `m${i}` }] })),
      }),
    )
    const answeredAt = new Map<string, number>()
    const fetcher: typeof fetch = async (input, init) => {
      const { model } = (await new Request(input, init).json()) as { model: string }
      await new Promise((resolve) => setTimeout(resolve, 50))
      answeredAt.set(`test/${model}@alpha`, Date.now())
      return jsonResponse(openaiCompletion({ content: 'p' }))
    }
    const now = Date.now()
    const observations = await probeEndpoints(env, many, nothingKnown, now, fetcher)
    expect(observations).toHaveLength(12)
    // `now` is the run's start by the same clock, so each date is within a few ms of its answer.
    expect(Math.max(...observations.map((o) => Math.abs(o.at - answeredAt.get(o.endpoint)!)))).toBeLessThan(25)
  })

  it('pings a model that only embeds with the embedding of one word, not a chat completion it would refuse', async () => {
    const embedder = {
      id: 'test/embed',
      name: 'Embed',
      contextLength: 8192,
      modalities: { input: ['text' as const], output: ['embeddings' as const] },
      endpoints: [{ provider: 'alpha', upstreamModel: 'alpha-embed', pricing: { prompt: '0.00000002', completion: '0' }, maxCompletionTokens: 1 }],
    }
    const only = compileCatalog(CatalogSchema.parse({ ...testCatalog, models: [embedder] }))
    const sent: Sent[] = []
    const fetcher: typeof fetch = async (input, init) => {
      const request = new Request(input, init)
      sent.push({ url: request.url, body: (await request.json()) as Record<string, unknown>, signal: init?.signal })
      return request.url.endsWith('/embeddings') ? jsonResponse({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1] }] }) : jsonResponse({ error: 'not a chat model' }, 404)
    }
    const observations = await probeEndpoints(env, only, nothingKnown, Date.now(), fetcher)
    expect(sent.map((call) => [call.url, call.body])).toEqual([[`${ALPHA}/embeddings`, { model: 'alpha-embed', input: 'ping' }]])
    expect(observations.map((o) => [o.endpoint, o.kind])).toEqual([['test/embed@alpha', 'success']])
  })

  it.each([
    [401, {}, 'server_error'],
    [402, {}, 'server_error'],
    [403, {}, 'server_error'],
    [404, {}, 'server_error'],
    [408, {}, 'timeout'],
    [400, { error: { message: 'max_tokens must be at least 16' } }, null],
    [413, {}, null],
  ])('counts an answer of HTTP %i as traffic would: %s', async (status, body, kind) => {
    const only = compileCatalog(CatalogSchema.parse({ ...testCatalog, models: [testCatalog.models[0]!], providers: testCatalog.providers }))
    const answering: typeof fetch = async (input) => (new Request(input).url.startsWith(ALPHA) ? jsonResponse(body, status) : jsonResponse(openaiCompletion()))
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const observations = await probeEndpoints(env, only, nothingKnown, Date.now(), answering)
    expect(observations.find((o) => o.endpoint === 'test/chat@alpha')?.kind ?? null).toBe(kind)
  })

  it('counts a provider’s own 4xx fault as broken, as traffic does (a revoked Gemini key answers 400 API_KEY_INVALID)', async () => {
    const GEMINI = 'http://127.0.0.1:9106/v1beta'
    const gemini: CatalogInput = {
      ...testCatalog,
      providers: [...testCatalog.providers, { id: 'gemini', name: 'Gemini', format: 'gemini', baseUrl: GEMINI, apiKeyEnv: 'TEST_PROVIDER_KEY', region: { name: 'gemini', lat: 0, lon: 0 }, dataCollection: 'deny' }],
      models: [{ id: 'test/gemini', name: 'test/gemini', contextLength: 1_000_000, modalities: { input: ['text'], output: ['text'] }, endpoints: [{ provider: 'gemini', upstreamModel: 'gemini-test', pricing: { prompt: '0.000001', completion: '0.000004' }, maxCompletionTokens: 65536 }] }],
    }
    const revoked: typeof fetch = async () =>
      jsonResponse({ error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }] } }, 400)
    const observations = await probeEndpoints(env, compileCatalog(CatalogSchema.parse(gemini)), nothingKnown, Date.now(), revoked)
    expect(observations.map((o) => [o.endpoint, o.kind])).toEqual([['test/gemini@gemini', 'server_error']])
  })

  it('a refused connection is a connection error', async () => {
    const only = compileCatalog(CatalogSchema.parse({ ...testCatalog, models: [testCatalog.models[0]] }))
    const refused: typeof fetch = () => Promise.reject(new TypeError('fetch failed'))
    const observations = await probeEndpoints(env, only, nothingKnown, Date.now(), refused)
    expect(new Set(observations.map((o) => o.kind))).toEqual(new Set(['connection_error']))
  })

  it('skips endpoints seen recently with a closed circuit; probes idle ones and open or half-open circuits', async () => {
    const now = Date.now()
    const seen = (lastSeen: number, circuit: HealthView['circuit'] = 'closed'): HealthView => ({
      circuit, coolingUntil: null, errorRate: 0, samples: 1, ttfbMs: 100, tokensPerSecond: null, lastSeen,
    })
    const views: Record<string, HealthView> = {
      'test/chat@alpha': seen(now - 1_000),
      'test/chat@beta': seen(now - 1_000, 'open'),
      'test/claude@beta': seen(now - 1_000, 'half_open'),
      'test/chat@gamma': seen(now - idle),
      'test/other@gamma': seen(now - idle + 1),
    }
    const { sent, fetcher } = fleet()
    const observations = await probeEndpoints(env, catalog, (key) => views[key], now, fetcher)
    expect(observations.map((o) => o.endpoint).sort()).toEqual(['test/chat@beta', 'test/chat@gamma', 'test/claude@beta'])
    expect(sent).toHaveLength(3)
  })

  it('skips an endpoint cooling after a 429 until its Retry-After has passed, whatever its circuit or age', async () => {
    const now = Date.now()
    const cooling = (until: number, circuit: HealthView['circuit']): HealthView => ({
      circuit, coolingUntil: until, errorRate: 0, samples: 1, ttfbMs: 100, tokensPerSecond: null, lastSeen: now - idle,
    })
    const views: Record<string, HealthView> = {
      'test/chat@alpha': cooling(now + 5_000, 'closed'),
      'test/chat@beta': cooling(now + 5_000, 'open'),
      'test/claude@beta': cooling(now, 'half_open'),
    }
    const { sent, fetcher } = fleet()
    const observations = await probeEndpoints(env, catalog, (key) => views[key], now, fetcher)
    expect(observations.map((o) => o.endpoint).sort()).toEqual(['test/chat@gamma', 'test/claude@beta', 'test/other@gamma'])
    expect(sent).toHaveLength(3)
  })

  it(`probes at most ${MAX_PROBES_PER_RUN} endpoints per run, open circuits first`, async () => {
    const many: CatalogInput = {
      ...testCatalog,
      models: Array.from({ length: 30 }, (_, i) => ({ ...testCatalog.models[0]!, id: `test/many-${i}`, endpoints: [testCatalog.models[0]!.endpoints[0]!] })),
    }
    const now = Date.now()
    const open: HealthLookup = (key) =>
      key === 'test/many-29@alpha'
        ? { circuit: 'open', coolingUntil: null, errorRate: 1, samples: 3, ttfbMs: null, tokensPerSecond: null, lastSeen: now }
        : undefined
    const { sent, fetcher } = fleet()
    const observations = await probeEndpoints(env, compileCatalog(CatalogSchema.parse(many)), open, now, fetcher)
    expect(sent).toHaveLength(MAX_PROBES_PER_RUN)
    expect(observations[0]?.endpoint).toBe('test/many-29@alpha')
  })
  it('does not let endpoints whose probes teach nothing hold every slot: one behind them is probed within a few runs', async () => {
    // 25 endpoints never seen whose pings get a 400 (not counted, so their lastSeen never moves),
    // and one seen an idle period ago: by age alone it would be 26th, beyond the run's 20, every run.
    const refusing = Array.from({ length: 25 }, (_, i) => ({ ...testCatalog.models[0]!, id: `test/refuses-${i}`, endpoints: [testCatalog.models[0]!.endpoints[0]!] }))
    const late = { ...testCatalog.models[0]!, id: 'test/late', endpoints: [{ ...testCatalog.models[0]!.endpoints[0]!, upstreamModel: 'late-chat' }] }
    const many = compileCatalog(CatalogSchema.parse({ ...testCatalog, models: [...refusing, late] }))
    const now = Date.now()
    const views: HealthLookup = (key) =>
      key === 'test/late@alpha' ? { circuit: 'closed', coolingUntil: null, errorRate: 0, samples: 1, ttfbMs: 100, tokensPerSecond: null, lastSeen: now - idle } : undefined
    let sent = 0
    const fetcher: typeof fetch = async (input, init) => {
      sent++
      const { model } = (await new Request(input, init).json()) as { model: string }
      return model === 'late-chat' ? jsonResponse(openaiCompletion({ content: 'p' })) : jsonResponse({ error: { message: 'max_tokens must be at least 16' } }, 400)
    }
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    let seed = 7
    const random = () => ((seed = (seed * 48271) % 2147483647) - 1) / 2147483646
    const runs: string[][] = []
    for (let run = 0; run < 5; run++) runs.push((await probeEndpoints(env, many, views, now, fetcher, random)).map((o) => o.endpoint))
    expect(sent).toBe(5 * MAX_PROBES_PER_RUN)
    expect(runs.flat()).toContain('test/late@alpha')
  })

  it('gives the first half of the slots to the head of the queue and draws the rest from the others', () => {
    const queue = Array.from({ length: 30 }, (_, i) => i)
    const chosen = chooseProbes(queue, 20, () => 0.999)
    expect(chosen.slice(0, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(new Set(chosen).size).toBe(20)
    expect(chosen.slice(10).every((n) => n >= 10)).toBe(true)
    expect(chosen.slice(10)).toContain(29) // the draw reaches the very end of the queue
    expect(chooseProbes([1, 2, 3], 20, () => 0)).toEqual([1, 2, 3])
  })
})

import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { ChatRequest } from '../../src/formats/openai/request'
import { planRoute } from '../../src/routing/plan'
import { ProviderPreferences } from '../../src/routing/preferences'
import { allowedCandidates } from '../../src/tenancy/ledger'
import { viewOf } from '../../src/health/stats'
import { CONFIG, fold, observation } from '../health/support'
import { CLIENTS, NOW, plan, planInput, route, view } from './fixtures'

function refusal(run: () => unknown): GatewayError {
  try {
    run()
  } catch (error) {
    if (error instanceof GatewayError) return error
  }
  throw new Error('expected a GatewayError')
}

describe('nearest healthy by default', () => {
  it.each([
    ['frankfurt', 'eu'],
    ['singapore', 'ap'],
    ['newYork', 'us'],
    ['seattle', 'cheap'],
  ])('a client in %s is served from %s first', (client, first) => {
    expect(route({}, { client: CLIENTS[client]! })[0]).toBe(first)
  })

  it('orders every candidate by distance when nothing else differs', () => {
    expect(route({}, { client: CLIENTS.frankfurt! })).toEqual(['eu', 'us', 'cheap', 'ap'])
  })

  it('keeps catalog order without a client location and with no health data', () => {
    expect(route({})).toEqual(['us', 'eu', 'ap', 'cheap'])
  })

  it('lets a fast provider beat a slow nearer one', () => {
    const healthy = { 'x/chat@eu': view({ ttfbMs: 2_000 }), 'x/chat@us': view({ ttfbMs: 300 }) }
    expect(route({}, { client: CLIENTS.frankfurt!, healthy })[0]).toBe('us')
  })

  it('penalises a recent error rate', () => {
    const healthy = { 'x/chat@eu': view({ errorRate: 0.5 }) }
    expect(route({}, { client: CLIENTS.frankfurt!, healthy }).indexOf('eu')).toBeGreaterThan(0)
  })

  it('sends open circuits and cooling endpoints last, keeps half-open ones in place for a probe', () => {
    expect(route({}, { client: CLIENTS.frankfurt!, healthy: { 'x/chat@eu': view({ circuit: 'open' }) } }).at(-1)).toBe('eu')
    expect(route({}, { client: CLIENTS.frankfurt!, healthy: { 'x/chat@eu': view({ coolingUntil: NOW + 5_000 }) } }).at(-1)).toBe('eu')
    expect(route({}, { client: CLIENTS.frankfurt!, healthy: { 'x/chat@eu': view({ coolingUntil: NOW - 1 }) } })[0]).toBe('eu')
    expect(route({}, { client: CLIENTS.frankfurt!, healthy: { 'x/chat@eu': view({ circuit: 'half_open' }) } })[0]).toBe('eu')
  })

  it('lets a half-open endpoint probe without the error rate that opened it', () => {
    const healthy = { 'x/chat@eu': view({ circuit: 'half_open', errorRate: 1, samples: 10 }) }
    expect(route({}, { client: CLIENTS.frankfurt!, healthy })[0]).toBe('eu')
  })

  it('assumes an endpoint idle in the window is as fast as the best fresh one, so a stale slow figure gets renewed', () => {
    const fast = { 'x/chat@us': view({ ttfbMs: 40 }) }
    // eu measured slow a while ago (nothing in the window now): tried again, as the nearest
    expect(route({}, { client: CLIENTS.frankfurt!, healthy: { ...fast, 'x/chat@eu': view({ ttfbMs: 1_500, samples: 0 }) } })[0]).toBe('eu')
    // measured slow just now: stays behind
    expect(route({}, { client: CLIENTS.frankfurt!, healthy: { ...fast, 'x/chat@eu': view({ ttfbMs: 1_500, samples: 3 }) } })[0]).toBe('us')
  })

  it('counts a figure unobserved for staleMs as stale even inside the window, and says which endpoint the request renews', () => {
    const healthy = { 'x/chat@us': view({ ttfbMs: 40 }), 'x/chat@eu': view({ ttfbMs: 1_500, samples: 8, lastSeen: NOW - 15_000 }) }
    const renewing = plan({}, { client: CLIENTS.frankfurt!, healthy })
    expect(renewing.endpoints[0]!.provider.id).toBe('eu')
    expect(renewing.explores).toBe('x/chat@eu')
    expect(renewing.trace!.candidates[0]).toMatchObject({ endpoint: 'x/chat@eu', ttfb_ms: 40, ttfb_assumed: true })
    // One request at a time: while another renews it, the stale figure counts as it is.
    const meanwhile = plan({}, { client: CLIENTS.frankfurt!, healthy, exploring: (key) => key === 'x/chat@eu' })
    expect(meanwhile.endpoints[0]!.provider.id).toBe('us')
    expect(meanwhile.explores).toBeNull()
    expect(meanwhile.trace!.candidates.find((c) => c.provider === 'eu')).toMatchObject({ ttfb_ms: 1_500, ttfb_assumed: false })
    // A figure observed just under staleMs ago is fresh.
    const fresh = { ...healthy, 'x/chat@eu': view({ ttfbMs: 1_500, samples: 8, lastSeen: NOW - 14_999 }) }
    expect(plan({}, { client: CLIENTS.frankfurt!, healthy: fresh }).explores).toBeNull()
  })

  it('with traffic sparser than staleMs, takes the best endpoint observed in the window as the reference', () => {
    const healthy = {
      'x/chat@us': view({ ttfbMs: 40, samples: 2, lastSeen: NOW - 20_000 }),
      'x/chat@eu': view({ ttfbMs: 1_500, samples: 1, lastSeen: NOW - 40_000 }),
    }
    const renewing = plan({}, { client: CLIENTS.frankfurt!, healthy })
    expect(renewing.explores).toBe('x/chat@eu')
    expect(renewing.trace!.candidates[0]).toMatchObject({ endpoint: 'x/chat@eu', ttfb_ms: 40, ttfb_assumed: true })
  })

  it('renews nothing when the first endpoint is observed, or without health (ordered and random modes)', () => {
    expect(plan({}, { client: CLIENTS.frankfurt!, healthy: { 'x/chat@eu': view({ ttfbMs: 30 }) } }).explores).toBeNull()
    expect(plan({}, { mode: 'ordered' }).explores).toBeNull()
    expect(plan({}, { mode: 'random' }).explores).toBeNull()
  })

  it('spreads equal candidates by weighted random instead of piling onto one', () => {
    const firsts = new Set<string>()
    for (const r of [0, 0.3, 0.6, 0.99]) firsts.add(route({}, { tieBandMs: 10, random: () => r })[0]!)
    expect(firsts.size).toBeGreaterThan(1)
  })

  it('does not spread beyond the tie band', () => {
    for (const r of [0, 0.5, 0.99]) expect(route({}, { client: CLIENTS.frankfurt!, tieBandMs: 10, random: () => r })[0]).toBe('eu')
  })
})

describe('429s and the minimum sample count', () => {
  it('one transient failure among 429s does not reorder routing: 429s are not judged attempts', () => {
    const eu = { endpoint: 'x/chat@eu' }
    const t0 = NOW - 20_000
    const state = fold([
      observation('success', t0, { ...eu, ttfbMs: 300 }),
      ...Array.from({ length: 4 }, (_, i) => observation('rate_limited', t0 + 1_000 + i, { ...eu, retryAfterMs: 1_000 })),
      observation('server_error', t0 + 2_000, eu),
    ])
    const euView = viewOf(state, NOW, CONFIG)
    expect(euView).toMatchObject({ circuit: 'closed', coolingUntil: null, errorRate: 0.5, samples: 2 })
    const usView = { ...euView, errorRate: 0, samples: 10, lastSeen: NOW - 1_000 }
    expect(route({}, { client: CLIENTS.frankfurt!, healthy: { 'x/chat@eu': { ...euView, lastSeen: NOW - 1_000 }, 'x/chat@us': usView } })[0]).toBe('eu')
  })
})

describe('provider preferences', () => {
  it.each([
    ['sort price', { provider: { sort: 'price' as const } }, ['cheap', 'ap', 'us', 'eu']],
    ['the :floor variant', { model: 'x/chat:floor' }, ['cheap', 'ap', 'us', 'eu']],
    ['order with fallbacks', { provider: { order: ['ap', 'EU'] } }, ['ap', 'eu', 'us', 'cheap']],
    ['order without fallbacks', { provider: { order: ['ap', 'eu'], allow_fallbacks: false } }, ['ap', 'eu']],
    ['only', { provider: { only: ['eu', 'cheap'] } }, ['eu', 'cheap']],
    ['ignore', { provider: { ignore: ['us'] } }, ['eu', 'ap', 'cheap']],
    ['data_collection deny', { provider: { data_collection: 'deny' as const } }, ['us', 'eu', 'ap']],
    ['zdr', { provider: { zdr: true } }, ['us', 'eu', 'ap']],
    ['quantizations', { provider: { quantizations: ['fp8' as const, 'int4' as const] } }, ['ap', 'cheap']],
    ['max_price', { provider: { max_price: { prompt: 1, completion: 4 } } }, ['ap', 'cheap']],
    ['a max_price too large to scale', { provider: { max_price: { prompt: 1e300, completion: 4, request: Number.MAX_VALUE } } }, ['ap', 'cheap']],
    ['sort object', { provider: { sort: { by: 'price' as const } } }, ['cheap', 'ap', 'us', 'eu']],
  ])('%s', (_label, fields, expected) => {
    expect(route(fields)).toEqual(expected)
  })

  it("takes prices and sorts as OpenRouter's SDK sends them: decimal strings, and exacto (ranked as no sort)", () => {
    const provider = ProviderPreferences.parse({ max_price: { prompt: '1', completion: '4.0', request: '0' }, sort: 'exacto' })
    expect(provider.max_price).toEqual({ prompt: 1, completion: 4, request: 0 })
    expect(route({ provider })).toEqual(['ap', 'cheap'])
    expect(route({ model: 'x/chat:exacto', provider: { sort: { by: 'exacto' } } })).toEqual(route({}))
    for (const prompt of ['cheap', '-1', '', 1 / 0]) expect(ProviderPreferences.safeParse({ max_price: { prompt } }).success).toBe(false)
  })

  it('sorts by observed throughput for sort throughput and :nitro', () => {
    const healthy = { 'x/chat@ap': view({ tokensPerSecond: 300 }), 'x/chat@eu': view({ tokensPerSecond: 120 }) }
    expect(route({ provider: { sort: 'throughput' } }, { healthy }).slice(0, 2)).toEqual(['ap', 'eu'])
    expect(route({ model: 'x/chat:nitro' }, { healthy }).slice(0, 2)).toEqual(['ap', 'eu'])
  })

  it('sorts by expected latency for sort latency', () => {
    expect(route({ provider: { sort: 'latency' } }, { client: CLIENTS.singapore! })[0]).toBe('ap')
  })

  it('moves endpoints that miss a soft preference to the end without removing them', () => {
    const healthy = { 'x/chat@us': view({ ttfbMs: 3_000 }), 'x/chat@ap': view({ tokensPerSecond: 10 }) }
    expect(route({ provider: { preferred_max_latency: 1 } }, { healthy }).at(-1)).toBe('us')
    expect(route({ provider: { preferred_min_throughput: { p50: 20 } } }, { healthy }).at(-1)).toBe('ap')
  })

  it('moves an endpoint whose typical latency passes any percentile cutoff of preferred_max_latency to the end', () => {
    const healthy = { 'x/chat@cheap': view({ ttfbMs: 5_000 }), 'x/chat@us': view({ ttfbMs: 200 }), 'x/chat@eu': view({ ttfbMs: 200 }), 'x/chat@ap': view({ ttfbMs: 200 }) }
    expect(route({ provider: { sort: 'price' } }, { healthy })[0]).toBe('cheap')
    // Its p50 is 5 s, so its p90 is at least that: over a p90 cutoff of 1 s.
    expect(route({ provider: { sort: 'price', preferred_max_latency: { p90: 1 } } }, { healthy }).at(-1)).toBe('cheap')
    expect(route({ provider: { sort: 'price', preferred_max_latency: { p99: 10, p75: 2 } } }, { healthy }).at(-1)).toBe('cheap')
    expect(route({ provider: { sort: 'price', preferred_max_latency: { p99: 10 } } }, { healthy })[0]).toBe('cheap')
  })

  it('moves an endpoint whose typical throughput is below any percentile cutoff of preferred_min_throughput to the end', () => {
    // ap's p50 is 10 tok/s, so its p90 is at most that: below a p90 cutoff of 20.
    const healthy = { 'x/chat@ap': view({ tokensPerSecond: 10 }) }
    expect(route({ provider: { preferred_min_throughput: { p90: 20 } } }, { healthy }).at(-1)).toBe('ap')
    expect(route({ provider: { preferred_min_throughput: { p50: 5, p90: 20 } } }, { healthy }).at(-1)).toBe('ap')
    expect(route({ provider: { preferred_min_throughput: { p99: 5 } } }, { healthy }).at(-1)).not.toBe('ap')
  })

  it('prefers endpoints that honour response_format, and requires them with require_parameters', () => {
    const response_format = { type: 'json_object' as const }
    expect(route({ response_format })).toEqual(['us', 'eu', 'ap', 'cheap'])
    expect(route({ response_format, provider: { order: ['cheap'] } })).toEqual(['cheap', 'us', 'eu', 'ap'])
    expect(route({ response_format, provider: { require_parameters: true } })).toEqual(['us', 'eu', 'ap'])
  })

  it('requires structured_outputs for a JSON schema with require_parameters (ap has JSON mode only), as OpenRouter lists it', () => {
    const response_format = { type: 'json_schema' as const, json_schema: { name: 'answer', schema: { type: 'object' } } }
    expect(route({ response_format, provider: { require_parameters: true } })).toEqual(['us', 'eu'])
    expect(route({ response_format: { type: 'json_object' }, provider: { require_parameters: true } })).toEqual(['us', 'eu', 'ap'])
  })
})

describe('require_parameters and values that ask nothing', () => {
  const required = { provider: { require_parameters: true } }

  it('keeps providers without logprobs, stop, tools or logit_bias for values that change nothing', () => {
    expect(route({ ...required, logprobs: false, stop: [], tools: [], logit_bias: {} })).toContain('cheap')
  })

  it('still turns them away for values that ask something', () => {
    expect(route({ ...required, stop: ['END'] })).toEqual(['us', 'eu', 'ap'])
    expect(route({ ...required, stop: 'END' })).toEqual(['us', 'eu', 'ap'])
    // No endpoint of the fixture lists these.
    for (const fields of [{ logprobs: true }, { logit_bias: { '50256': -100 } }, { parallel_tool_calls: false }]) {
      expect(refusal(() => route({ ...required, ...fields })).status).toBe(404)
    }
  })

  it('does not count reasoning turned off, or plain text as the format, as parameters a provider must support', () => {
    for (const fields of [{ reasoning: { enabled: false } }, { reasoning: { effort: 'none' } }, { reasoning_effort: 'none' }, { include_reasoning: false }]) {
      const request = ChatRequest.parse({ model: 'x/chat', messages: [{ role: 'user', content: 'hi' }], ...required, ...fields })
      expect(route(request)).toContain('cheap')
    }
    expect(route({ ...required, response_format: { type: 'text' } })).toContain('cheap')
    // Nor as a soft preference: the cheapest provider, which lists no response_format, still leads a price sort.
    expect(route({ provider: { sort: 'price' }, response_format: { type: 'text' } })[0]).toBe('cheap')
  })

  it('counts prediction and include_reasoning as parameters a provider must support', () => {
    for (const fields of [{ prediction: { type: 'content', content: 'draft' } }, { include_reasoning: true }]) {
      expect(refusal(() => route({ ...required, ...fields } as never)).status).toBe(404)
    }
  })
})

describe('filters: endpoints that cannot fit the request are never tried', () => {
  it.each([
    ['a long prompt', { messages: [{ role: 'user' as const, content: 'x'.repeat(40_000) }] }, ['us', 'eu', 'ap']],
    ['max_tokens above a cap', { max_tokens: 2_000 }, ['us', 'eu', 'ap']],
    ['tools', { tools: [{ type: 'function' as const, function: { name: 'f' } }] }, ['us', 'eu', 'ap']],
  ])('%s', (_label, fields, expected) => {
    expect(route(fields)).toEqual(expected)
  })

  it('explains "No endpoints found" with each filter and what it removed', () => {
    const error = refusal(() => plan({ model: 'x/text', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] }))
    expect(error.status).toBe(404)
    expect(error.message).toBe('No endpoints found that support image input for "x/text"')
    expect(error.metadata).toMatchObject({
      endpoints_total: 1,
      failed_routing_step: 'image_input',
      routing_funnel: [{ filter: 'image_input', removed: 1, endpoints: ['x/text@us'] }],
    })
  })

  it('answers 400 context_length_exceeded, as a provider would, for a request too long for every endpoint', () => {
    const error = refusal(() => plan({ model: 'x/text', messages: [{ role: 'user', content: 'x'.repeat(200_000) }], max_tokens: 100 }))
    expect([error.status, error.type]).toEqual([400, 'context_length_exceeded'])
    expect(error.message).toMatch(/^This model's maximum context length is 32000 tokens\. However, you requested about \d+ tokens \(about \d+ in the messages, 100 for max_tokens\)/)
    expect(error.metadata).toMatchObject({ failed_routing_step: 'context_length', max_context_length: 32000, max_tokens: 100 })
  })

  it('leaves a prompt carrying a document to the provider to judge: its bytes say little of its tokens', () => {
    const pdf = { type: 'file' as const, file: { filename: 'a.pdf', file_data: `data:application/pdf;base64,${'A'.repeat(200_000)}` } }
    expect(route({ model: 'x/text', messages: [{ role: 'user', content: [pdf] }] })).toEqual(['x/text@us'])
  })

  it('answers 400 for a max_tokens no endpoint can return', () => {
    const error = refusal(() => plan({ model: 'x/text', max_tokens: 4_000 }))
    expect([error.status, error.type]).toEqual([400, 'invalid_request'])
    expect(error.message).toBe('max_tokens 4000 is more than "x/text" can return (at most 2048)')
  })

  it('lists every filter that removed something', () => {
    const error = refusal(() => plan({ provider: { ignore: ['us'], quantizations: ['int4'] }, tools: [{ type: 'function', function: { name: 'f' } }] }))
    expect((error.metadata.routing_funnel as { filter: string; removed: number }[]).map((s) => [s.filter, s.removed])).toEqual([
      ['provider_ignore', 1],
      ['quantization', 2],
      ['tools', 1],
    ])
  })

  it('answers 503 when only missing API keys removed the endpoints', () => {
    const error = refusal(() => plan({ model: 'x/dead' }))
    expect(error.status).toBe(503)
    expect(error.metadata).toMatchObject({ missing_secrets: ['NO_KEY'] })
  })

  it('answers 404 for unknown models and unknown variants, 400 without a model', () => {
    expect(refusal(() => plan({ model: 'x/nothing' })).status).toBe(404)
    expect(refusal(() => plan({ model: 'x/chat:free' })).status).toBe(404)
    expect(refusal(() => plan({ model: undefined })).status).toBe(400)
  })
})

describe('baseline modes (ROUTING_MODE)', () => {
  const unhealthy = { 'x/chat@us': view({ circuit: 'open' as const }) }
  it('ordered keeps catalog order whatever the health and location', () => {
    expect(route({}, { mode: 'ordered', client: CLIENTS.singapore!, healthy: unhealthy })).toEqual(['us', 'eu', 'ap', 'cheap'])
  })

  it('random shuffles uniformly, ignoring health and location', () => {
    const firsts = new Set([0, 0.26, 0.51, 0.76].map((r) => route({}, { mode: 'random', client: CLIENTS.singapore!, healthy: unhealthy, random: () => r })[0]))
    expect(firsts).toEqual(new Set(['us', 'eu', 'ap', 'cheap']))
  })
})

describe('model fallbacks', () => {
  it('tries the models in order, each with its own ranking', () => {
    expect(route({ model: 'x/text', models: ['x/chat'] }, { client: CLIENTS.singapore! })).toEqual(['x/text@us', 'ap', 'eu', 'cheap', 'us'])
  })

  it('takes provider.sort as an object without `by` (OpenRouter’s ProviderSortConfig has both fields optional): its partition, ranked as with no sort', () => {
    expect(ProviderPreferences.safeParse({ sort: { partition: 'none' } }).success).toBe(true)
    expect(ProviderPreferences.safeParse({ sort: { by: null, partition: 'none' } }).success).toBe(true)
    const provider = ProviderPreferences.parse({ sort: { partition: 'none' } })
    expect(route({ model: 'x/text', models: ['x/chat'], provider })).toHaveLength(5)
  })

  it('ranks across models with partition none', () => {
    const order = route({ model: 'x/text', models: ['x/chat'], provider: { sort: { by: 'price', partition: 'none' } } })
    expect(order[0]).toBe('cheap')
  })

  it('takes the deprecated route as the partition: sort is none, fallback is model; provider.sort’s own partition wins', () => {
    const none = route({ model: 'x/text', models: ['x/chat'], provider: { sort: { by: 'price', partition: 'none' } } })
    expect(route({ model: 'x/text', models: ['x/chat'], route: 'sort', provider: { sort: 'price' } })).toEqual(none)
    const byModel = route({ model: 'x/text', models: ['x/chat'], provider: { sort: 'price' } })
    expect(byModel[0]).toBe('x/text@us')
    expect(route({ model: 'x/text', models: ['x/chat'], route: 'fallback', provider: { sort: 'price' } })).toEqual(byModel)
    expect(route({ model: 'x/text', models: ['x/chat'], route: 'sort', provider: { sort: { by: 'price', partition: 'model' } } })).toEqual(byModel)
    expect(ChatRequest.safeParse({ messages: [{ role: 'user', content: 'hi' }], route: 'bogus' }).success).toBe(false)
  })

  it('sorts each model by its own variant: a fallback’s :nitro sorts it, and the first model’s :floor leaves a plain fallback alone', () => {
    const healthy = { 'x/chat@ap': view({ tokensPerSecond: 300 }), 'x/chat@eu': view({ tokensPerSecond: 120 }) }
    expect(route({ model: 'x/text', models: ['x/chat:nitro'] }, { healthy }).slice(0, 3)).toEqual(['x/text@us', 'ap', 'eu'])
    expect(route({ model: 'x/text:floor', models: ['x/chat'] })).toEqual(route({ model: 'x/text', models: ['x/chat'] }))
    expect(route({ model: 'x/text', models: ['x/chat:floor'] })).toEqual(['x/text@us', 'cheap', 'ap', 'us', 'eu'])
  })

  it('takes models: [] as no fallback, and refuses enforce_distillable_text: true, which it cannot keep to', () => {
    expect(route({ models: [] })).toEqual(route({}))
    expect(ProviderPreferences.safeParse({ enforce_distillable_text: false }).success).toBe(true)
    const refused = ProviderPreferences.safeParse({ enforce_distillable_text: true })
    expect(refused.success).toBe(false)
    expect(refused.error?.issues[0]?.message).toBe('must be false: the catalog records no model’s distillation terms, so Meridian cannot keep to them')
  })

  it('takes an empty only as OpenRouter does, an allow-list that leaves nothing: a 404 naming it', () => {
    const provider = ProviderPreferences.parse({ only: [], ignore: [], order: [] })
    expect(refusal(() => route({ provider })).message).toBe('No endpoints found that match provider.only for "x/chat"')
  })

  it('takes an empty order, ignore or quantizations as not given, as a settings screen with nothing chosen sends them', () => {
    expect(route({ provider: ProviderPreferences.parse({ ignore: [], order: [], quantizations: [] }) })).toEqual(route({}))
    const firstOnly = ProviderPreferences.parse({ allow_fallbacks: false })
    expect(route({ provider: ProviderPreferences.parse({ order: [], allow_fallbacks: false }) })).toEqual(route({ provider: firstOnly }))
  })

  it('with allow_fallbacks false and no order, carries every endpoint to admission, which keeps each model’s first the key may use', () => {
    const ranked = route({ model: 'x/text', models: ['x/chat'], provider: { allow_fallbacks: false, sort: 'price' } }, { maxAttempts: 2 })
    expect(ranked).toEqual(['x/text@us', 'cheap', 'ap', 'us', 'eu'])
    const candidates = ranked.map((name) => (name.includes('@') ? { model: 'x/text', provider: 'us' } : { model: 'x/chat', provider: name }))
    const open = { allowedModels: null, allowedProviders: null }
    expect(allowedCandidates(open, { candidates, maxAttempts: 4, onePerModel: true })).toEqual([0, 1])
    expect(allowedCandidates({ ...open, allowedProviders: ['eu'] }, { candidates, maxAttempts: 4, onePerModel: true })).toEqual([4])
    expect(allowedCandidates(open, { candidates, maxAttempts: 4 })).toEqual([0, 1, 2, 3])
  })

  it('keeps each model’s first allowed candidate within the attempts, so a fallback model is not crowded out', () => {
    const open = { allowedModels: null, allowedProviders: null }
    const of = (names: string[]) => names.map((name) => ({ model: name.split('@')[0]!, provider: name.split('@')[1]! }))
    const five = of(['a@1', 'a@2', 'a@3', 'a@4', 'a@5', 'b@1', 'b@2'])
    expect(allowedCandidates(open, { candidates: five, maxAttempts: 4 })).toEqual([0, 1, 2, 5])
    expect(allowedCandidates(open, { candidates: of(['a@1', 'b@1', 'c@1', 'd@1', 'e@1', 'a@2']), maxAttempts: 4 })).toEqual([0, 1, 2, 3])
    expect(allowedCandidates(open, { candidates: of(['a@1', 'a@2', 'a@3', 'a@4', 'a@5']), maxAttempts: 4 })).toEqual([0, 1, 2, 3])
    // The key's allow-lists apply first: a provider it may not use takes no slot.
    expect(allowedCandidates({ ...open, allowedProviders: ['2', '3', '4', '5'] }, { candidates: five, maxAttempts: 3 })).toEqual([1, 2, 6])
  })

  it('caps the plan at maxAttempts', () => {
    expect(route({}, { maxAttempts: 2 })).toHaveLength(2)
  })
})

describe('the routing trace', () => {
  it('shows each candidate with its distance, latency, health and price, and what was filtered', () => {
    const trace = plan({ provider: { ignore: ['cheap'] } }, { client: CLIENTS.frankfurt! }).trace!
    expect(trace).toMatchObject({ strategy: 'nearest-healthy', client: { colo: 'FRA' }, filtered: [{ filter: 'provider_ignore', removed: ['x/chat@cheap'] }] })
    expect(trace.candidates[0]).toMatchObject({ position: 0, provider: 'eu', circuit: 'closed', price_per_million: { prompt: 3, completion: 15 } })
    expect(trace.candidates[0]!.distance_km).toBeLessThan(10)
    expect(trace.candidates[1]!.distance_km).toBeGreaterThan(6_000)
  })

  it('is built only when asked for, and the client is located only when distance can change the plan', () => {
    const located: string[] = []
    const locate = (label: string) => () => {
      located.push(label)
      return CLIENTS.frankfurt!
    }
    const untraced = planRoute({ ...planInput({ provider: { only: ['eu'] } }), client: locate('one endpoint'), trace: false })
    expect(untraced).toMatchObject({ endpoints: [{ provider: { id: 'eu' } }], trace: null })
    const ranked = planRoute({ ...planInput({}), client: locate('several'), trace: false })
    expect(ranked.trace).toBeNull()
    const traced = planRoute({ ...planInput({ provider: { only: ['eu'] } }), client: locate('traced'), trace: true })
    expect(traced.trace!.candidates[0]!.distance_km).toBeLessThan(10)
    expect(located).toEqual(['several', 'traced'])
  })
})

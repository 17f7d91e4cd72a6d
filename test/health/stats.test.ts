import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { configOf } from '../../src/config'
import { BUCKET_MS, endpointStats, mergeViews, observe, sampleWeight, viewOf, type HealthConfig } from '../../src/health/stats'
import type { HealthView, Observation, ObservationKind } from '../../src/health/types'
import { CONFIG, T, fold, observation } from './support'

/** One observation per second from T, of the given kinds ('s' success, 'f' server error, 'r' 429). */
function sequence(code: string, start = T): Observation[] {
  const kinds: Record<string, ObservationKind> = { s: 'success', f: 'server_error', t: 'timeout', c: 'connection_error', b: 'bad_response', r: 'rate_limited' }
  return [...code].map((c, i) => observation(kinds[c]!, start + i * 1000))
}

describe('settings', () => {
  it('the table config is the documented defaults', () => {
    const defaults = configOf(env)
    for (const [name, value] of Object.entries(CONFIG)) expect(defaults[name as keyof HealthConfig]).toBe(value)
  })
})

describe('circuit breaker: opening', () => {
  const noRun = { ...CONFIG, CIRCUIT_CONSECUTIVE_FAILURES: 100 }
  const noRate = { ...CONFIG, CIRCUIT_MIN_SAMPLES: 100 }
  it.each([
    { name: 'two failures in a row', code: 'ff', config: CONFIG, circuit: 'closed' },
    { name: 'three failures in a row', code: 'fff', config: CONFIG, circuit: 'open' },
    { name: 'every failure kind counts', code: 'tcb', config: CONFIG, circuit: 'open' },
    { name: 'a success breaks the run', code: 'ffsff', config: noRate, circuit: 'closed' },
    { name: '429s neither fail nor break the run', code: 'frfrf', config: CONFIG, circuit: 'open' },
    { name: 'rate rule: 4 samples at 50% is below the minimum', code: 'sfsf', config: noRun, circuit: 'closed' },
    { name: 'rate rule: 5 samples at 40%', code: 'sfsfs', config: noRun, circuit: 'closed' },
    { name: 'rate rule: 6 samples at exactly 50%', code: 'sfsfsf', config: noRun, circuit: 'open' },
    { name: 'rate rule: 5 samples at 60%', code: 'ssfff', config: noRun, circuit: 'open' },
    { name: 'rate rule: 429s are not samples', code: 'rrrrfsf', config: noRun, circuit: 'closed' },
  ] as const)('$name → $circuit', ({ code, config, circuit }) => {
    const observations = sequence(code)
    const state = fold(observations, config)
    expect(viewOf(state, observations.at(-1)!.at, config).circuit).toBe(circuit)
  })

  it('the rate rule forgets failures that left the window', () => {
    const config = { ...CONFIG, CIRCUIT_CONSECUTIVE_FAILURES: 100 }
    const old = sequence('ffff', T)
    const later = T + CONFIG.HEALTH_WINDOW_MS + BUCKET_MS
    const state = fold([...old, observation('success', later), observation('server_error', later + 1)], config)
    expect(viewOf(state, later + 1, config)).toMatchObject({ circuit: 'closed', samples: 2, errorRate: 0.5 })
  })
})

describe('circuit breaker: open, half-open, closed', () => {
  const opened = () => fold(sequence('fff')) // opens at T + 2000
  const openedAt = T + 2000
  const halfOpenAt = openedAt + CONFIG.CIRCUIT_OPEN_MS

  it.each([
    { at: openedAt, circuit: 'open' },
    { at: halfOpenAt - 1, circuit: 'open' },
    { at: halfOpenAt, circuit: 'half_open' },
    { at: halfOpenAt + 3_600_000, circuit: 'half_open' },
  ] as const)('at +$at ms the view says $circuit', ({ at, circuit }) => {
    expect(viewOf(opened(), at, CONFIG).circuit).toBe(circuit)
    expect(endpointStats(opened(), at).circuit).toBe(circuit)
  })

  it('a success while half-open closes it and clears the failure counts', () => {
    const state = observe(opened(), observation('success', halfOpenAt + 5), CONFIG)
    expect(viewOf(state, halfOpenAt + 5, CONFIG)).toMatchObject({ circuit: 'closed', errorRate: 0 })
    expect(state.consecutiveFailures).toBe(0)
    observe(state, observation('server_error', halfOpenAt + 6), CONFIG)
    expect(viewOf(state, halfOpenAt + 6, CONFIG).circuit).toBe('closed')
  })

  it('a failure while half-open re-opens it for another CIRCUIT_OPEN_MS', () => {
    const at = halfOpenAt + 5
    const state = observe(opened(), observation('timeout', at), CONFIG)
    expect(viewOf(state, at, CONFIG).circuit).toBe('open')
    expect(viewOf(state, at + CONFIG.CIRCUIT_OPEN_MS - 1, CONFIG).circuit).toBe('open')
    expect(viewOf(state, at + CONFIG.CIRCUIT_OPEN_MS, CONFIG).circuit).toBe('half_open')
  })

  it('late outcomes of requests sent before it opened neither close nor extend it', () => {
    const state = opened()
    observe(state, observation('server_error', openedAt + 10), CONFIG)
    observe(state, observation('success', openedAt + 20), CONFIG)
    expect(viewOf(state, halfOpenAt, CONFIG).circuit).toBe('half_open')
  })
})

describe('429 cooling', () => {
  it.each([
    { name: 'with Retry-After', retryAfterMs: 5_000, until: T + 5_000 },
    { name: 'without Retry-After (COOLDOWN_DEFAULT_MS)', retryAfterMs: null, until: T + 30_000 },
    { name: 'a day at most (a Unix time sent where seconds are meant would cool it for decades)', retryAfterMs: 1_767_225_600_000, until: T + 86_400_000 },
  ])('$name', ({ retryAfterMs, until }) => {
    const state = fold([observation('rate_limited', T, { retryAfterMs })])
    // A 429 is no judged attempt: it cools the endpoint and counts toward neither the error rate nor its samples.
    expect(viewOf(state, T, CONFIG)).toMatchObject({ coolingUntil: until, circuit: 'closed', errorRate: 0, samples: 0 })
    expect(viewOf(state, until - 1, CONFIG).coolingUntil).toBe(until)
    expect(viewOf(state, until, CONFIG).coolingUntil).toBeNull()
    expect(endpointStats(state, T).cooling_until).toBe(until)
  })

  it("a failure's Retry-After (a 503's) cools the endpoint and counts as a failure", () => {
    const state = fold([observation('server_error', T, { retryAfterMs: 5_000 })])
    expect(viewOf(state, T, CONFIG)).toMatchObject({ coolingUntil: T + 5_000, circuit: 'closed', errorRate: 1, samples: 1 })
    expect(viewOf(state, T + 5_000, CONFIG).coolingUntil).toBeNull()
    // Without one, a failure cools nothing: the circuit decides.
    expect(viewOf(fold([observation('server_error', T)]), T, CONFIG).coolingUntil).toBeNull()
  })

  it('a shorter later Retry-After does not cut an earlier, longer one', () => {
    const state = fold([observation('rate_limited', T, { retryAfterMs: 60_000 }), observation('rate_limited', T + 1, { retryAfterMs: 1_000 })])
    expect(viewOf(state, T + 2, CONFIG).coolingUntil).toBe(T + 60_000)
  })
})

describe('the window', () => {
  // Observed at T + 5 s, in the bucket [T, T + 10 s): counted until that bucket ends HEALTH_WINDOW_MS ago.
  const state = () => fold([observation('server_error', T + 5_000), observation('success', T + 6_000)])
  it.each([
    { now: T + 6_000, samples: 2 },
    { now: T + 5_000 + CONFIG.HEALTH_WINDOW_MS, samples: 2 },
    { now: T + BUCKET_MS + CONFIG.HEALTH_WINDOW_MS - 1, samples: 2 },
    { now: T + BUCKET_MS + CONFIG.HEALTH_WINDOW_MS, samples: 0 },
  ])('at now = T + $now has $samples samples', ({ now, samples }) => {
    const view = viewOf(state(), now, CONFIG)
    expect(view.samples).toBe(samples)
    expect(view.errorRate).toBe(samples === 0 ? 0 : 0.5)
  })

  it('keeps no more buckets than the window spans', () => {
    const long = fold(Array.from({ length: 600 }, (_, i) => observation('success', T + i * 1000)))
    expect(long.window.length).toBeLessThanOrEqual(CONFIG.HEALTH_WINDOW_MS / BUCKET_MS + 1)
  })
})

describe('smoothing (EWMA, HEALTH_EWMA_WEIGHT_PCT)', () => {
  it.each([
    { ttfb: [100], expected: 100 },
    { ttfb: [100, 200], expected: 120 },
    { ttfb: [100, 200, 120], expected: 120 },
    { ttfb: [100, 0], expected: 80 },
  ])('TTFB $ttfb → $expected', ({ ttfb, expected }) => {
    const state = fold(ttfb.map((ms, i) => observation('success', T + i, { ttfbMs: ms, tokensPerSecond: ms / 2 })))
    expect(viewOf(state, T, CONFIG).ttfbMs).toBeCloseTo(expected)
    expect(viewOf(state, T, CONFIG).tokensPerSecond).toBeCloseTo(expected / 2)
  })

  it.each([
    { quietS: 1, expected: 1_500 - 1_480 * 0.2 },
    { quietS: 10, expected: 1_500 - 1_480 * (1 - Math.exp(-1)) },
    { quietS: 29, expected: 1_500 - 1_480 * (1 - Math.exp(-2.9)) },
    // Stale (HEALTH_STALE_MS): the renewing sample replaces the figure.
    { quietS: 30, expected: 20 },
  ])('a sample after $quietS s of quiet weighs more (HEALTH_STALE_MS): 1,500 ms then 20 ms → $expected', ({ quietS, expected }) => {
    const slow = Array.from({ length: 20 }, (_, i) => observation('success', T + i * 100, { ttfbMs: 1_500 }))
    const last = T + 1_900
    const state = fold([...slow, observation('success', last + quietS * 1_000, { ttfbMs: 20 })])
    expect(viewOf(state, last + quietS * 1_000, CONFIG).ttfbMs).toBeCloseTo(expected)
    expect(sampleWeight(0, CONFIG)).toBe(0.2)
    expect(sampleWeight(CONFIG.HEALTH_STALE_MS - 1, CONFIG)).toBeCloseTo(0.95, 2)
    expect(sampleWeight(CONFIG.HEALTH_STALE_MS, CONFIG)).toBe(1)
  })

  it('failures do not feed latency: a fast 500 is not a fast provider', () => {
    const state = fold([observation('success', T, { ttfbMs: 800 }), observation('server_error', T + 1, { ttfbMs: 5 })])
    expect(viewOf(state, T + 1, CONFIG).ttfbMs).toBe(800)
    expect(endpointStats(state, T + 1).latency_last_30m?.p50).toBe(0.8)
  })

  it('unobserved is null, not zero', () => {
    expect(viewOf(fold(sequence('s')), T, CONFIG)).toMatchObject({ ttfbMs: null, tokensPerSecond: null, lastSeen: T })
  })
})

describe('mergeViews', () => {
  const view = (over: Partial<HealthView>): HealthView => ({
    circuit: 'closed', coolingUntil: null, errorRate: 0, samples: 0, ttfbMs: null, tokensPerSecond: null, lastSeen: null, ...over,
  })
  it.each([
    { name: 'nothing known', local: undefined, global: undefined, expected: undefined },
    { name: 'only local', local: view({ samples: 1 }), global: undefined, expected: view({ samples: 1 }) },
    { name: 'only global', local: undefined, global: view({ circuit: 'open' }), expected: view({ circuit: 'open' }) },
    {
      name: 'the fresher circuit: a local half-open probe is not overruled by a stale global open',
      local: view({ circuit: 'half_open', errorRate: 0.2, coolingUntil: T + 5, lastSeen: T + 9 }),
      global: view({ circuit: 'open', errorRate: 0.1, coolingUntil: T + 9, lastSeen: T }),
      expected: view({ circuit: 'half_open', errorRate: 0.2, coolingUntil: T + 9, lastSeen: T + 9 }),
    },
    {
      name: 'the global circuit when it is fresher',
      local: view({ circuit: 'closed', lastSeen: T }),
      global: view({ circuit: 'open', lastSeen: T + 9 }),
      expected: view({ circuit: 'open', lastSeen: T + 9 }),
    },
    {
      name: 'local open beats global closed',
      local: view({ circuit: 'open', samples: 3 }),
      global: view({ circuit: 'closed', samples: 50 }),
      expected: view({ circuit: 'open', samples: 50 }),
    },
    {
      name: "this isolate's speeds when it has observed the endpoint recently (a spike shows at once)",
      local: view({ samples: 3, ttfbMs: 1_500, tokensPerSecond: 10 }),
      global: view({ samples: 40, ttfbMs: 300, tokensPerSecond: 30 }),
      expected: view({ samples: 40, ttfbMs: 1_500, tokensPerSecond: 10 }),
    },
    {
      name: 'global speeds when other isolates observed the endpoint after this one did (a renewed figure)',
      local: view({ samples: 3, ttfbMs: 1_500, tokensPerSecond: 10, lastSeen: T }),
      global: view({ samples: 40, ttfbMs: 30, tokensPerSecond: 30, lastSeen: T + 20_000 }),
      expected: view({ samples: 40, ttfbMs: 30, tokensPerSecond: 30, lastSeen: T + 20_000 }),
    },
    {
      name: 'global speeds when this isolate has none recent',
      local: view({ samples: 0, ttfbMs: 100 }),
      global: view({ samples: 40, ttfbMs: 300, tokensPerSecond: 30 }),
      expected: view({ samples: 40, ttfbMs: 300, tokensPerSecond: 30 }),
    },
    {
      name: 'speeds from the other side when one has none',
      local: view({ samples: 3, ttfbMs: 100 }),
      global: view({ samples: 40, tokensPerSecond: 30 }),
      expected: view({ samples: 40, ttfbMs: 100, tokensPerSecond: 30 }),
    },
  ])('$name', ({ local, global, expected }) => {
    expect(mergeViews(local, global)).toEqual(expected)
  })

  // A circuit the global view reports open or half-open, which this isolate may not have seen trip.
  const halfOpen = view({ circuit: 'half_open', errorRate: 1, samples: 8, lastSeen: T })
  it.each([
    {
      name: 'a failed probe here re-opens a half-open circuit (the isolate never saw it open)',
      local: view({ samples: 1, errorRate: 1, lastSeen: T + 25_000, lastJudged: { at: T + 25_000, ok: false } }),
      global: halfOpen,
      expected: { circuit: 'open', errorRate: 1, samples: 8 },
    },
    {
      name: 'a successful probe here closes it, and the failures that opened it no longer count (this isolate’s among them)',
      local: view({ samples: 3, errorRate: 1 / 3, lastSeen: T + 25_000, lastJudged: { at: T + 25_000, ok: true } }),
      global: halfOpen,
      expected: { circuit: 'closed', errorRate: 0, samples: 3 },
    },
    {
      name: 'an outcome here from before it turned half-open is no probe (this isolate’s own failure that tripped it)',
      local: view({ circuit: 'half_open', samples: 3, errorRate: 1, lastSeen: T + 5_000, lastJudged: { at: T + 5_000, ok: false } }),
      global: halfOpen,
      expected: { circuit: 'half_open', errorRate: 1, samples: 8 },
    },
    {
      name: 'an outcome here while it is still open moves nothing (a request in flight when it opened)',
      local: view({ samples: 1, errorRate: 0, lastSeen: T + 5, lastJudged: { at: T + 5, ok: true } }),
      global: view({ circuit: 'open', errorRate: 1, samples: 8, lastSeen: T }),
      expected: { circuit: 'open', errorRate: 1, samples: 8 },
    },
    {
      name: 'an outcome here older than the global view’s last leaves it as the global view says',
      local: view({ samples: 1, errorRate: 0, lastSeen: T - 5, lastJudged: { at: T - 5, ok: true } }),
      global: halfOpen,
      expected: { circuit: 'half_open', errorRate: 1, samples: 8 },
    },
  ])('$name', ({ local, global, expected }) => {
    expect(mergeViews(local, global, CONFIG.CIRCUIT_OPEN_MS)).toMatchObject(expected)
  })
})

import { describe, expect, it } from 'vitest'
import { MAX_MINUTE_BUCKETS, MINUTE_MS, SAMPLE_RING } from '../../src/health/history'
import { endpointStats, observe } from '../../src/health/stats'
import type { Observation } from '../../src/health/types'
import { CONFIG, T, fold, observation } from './support'

describe('live stats', () => {
  // One observation per minute for 2 hours: failures in minutes 100–109 and 115–119, 429s in every minute.
  const history = () => {
    const observations: Observation[] = []
    for (let m = 0; m < 120; m++) {
      const failed = (m >= 100 && m < 110) || m >= 115
      observations.push(observation(failed ? 'server_error' : 'success', T + m * MINUTE_MS))
      observations.push(observation('rate_limited', T + m * MINUTE_MS + 1))
    }
    return fold(observations)
  }
  const now = T + 119 * MINUTE_MS + 30_000

  it.each([
    { field: 'uptime_last_5m', expected: 0 },
    { field: 'uptime_last_30m', expected: (15 / 30) * 100 },
    { field: 'uptime_last_1d', expected: (105 / 120) * 100 },
  ] as const)('$field = $expected (429s excluded)', ({ field, expected }) => {
    expect(endpointStats(history(), now)[field]).toBeCloseTo(expected)
  })

  it('uptime is null without judged attempts', () => {
    const state = fold([observation('rate_limited', T)])
    expect(endpointStats(state, T)).toMatchObject({ uptime_last_5m: null, uptime_last_30m: null, uptime_last_1d: null })
  })

  it('keeps at most a day of minute buckets, even when observations arrive out of order', () => {
    const observations = Array.from({ length: 3000 }, (_, m) => observation('success', T + m * MINUTE_MS))
    const state = fold(observations)
    observe(state, observation('server_error', T + 2990 * MINUTE_MS + 5), CONFIG)
    observe(state, observation('success', T + 100 * MINUTE_MS), CONFIG) // older than a day: ignored
    expect(state.minutes).toHaveLength(MAX_MINUTE_BUCKETS)
    expect(state.minutes.map(([minute]) => minute)).toEqual([...state.minutes.map(([minute]) => minute)].sort((a, b) => a - b))
    expect(state.minutes.find(([minute]) => minute === Math.floor((T + 2990 * MINUTE_MS) / MINUTE_MS))).toEqual([expect.any(Number), 1, 1])
  })

  it('latency and throughput percentiles over the last 30 minutes (seconds, tokens/s)', () => {
    const old = Array.from({ length: 50 }, (_, i) => observation('success', T + i, { ttfbMs: 9_000, tokensPerSecond: 1 }))
    const recent = Array.from({ length: 100 }, (_, i) => observation('success', T + 31 * MINUTE_MS + i, { ttfbMs: (i + 1) * 10, tokensPerSecond: i + 1 }))
    const stats = endpointStats(fold([...old, ...recent]), T + 32 * MINUTE_MS)
    expect(stats.latency_last_30m).toEqual({ p50: 0.5, p75: 0.75, p90: 0.9, p99: 0.99 })
    // As OpenRouter publishes throughput: pN is what N% of requests reached at least, so it falls from p50 on.
    expect(stats.throughput_last_30m).toEqual({ p50: 51, p75: 26, p90: 11, p99: 2 })
    expect(endpointStats(fold([observation('success', T), observation('server_error', T)]), T).latency_last_30m).toBeNull()
  })

  it('keeps only the last samples in the ring', () => {
    const state = fold(Array.from({ length: 500 }, (_, i) => observation('success', T + i, { ttfbMs: i, tokensPerSecond: i })))
    expect(state.ttfbSamples).toHaveLength(SAMPLE_RING)
    expect(state.ttfbSamples[0]).toEqual([T + 300, 300])
    expect(state.throughputSamples).toHaveLength(SAMPLE_RING)
  })
})

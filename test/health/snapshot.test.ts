import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { configOf } from '../../src/config'
import { HEALTH_KV_KEY } from '../../src/health/health-do'
import { forgetLocalHealth, recordLocally } from '../../src/health/local'
import { currentHealth, forgetPublishedHealth } from '../../src/health/snapshot'
import type { HealthView } from '../../src/health/types'
import { viewOf } from '../../src/health/stats'
import { CONFIG, fold, observation } from './support'

const config = configOf(env)
let clock = Date.now()

/** The lookup after this isolate has picked up what KV holds now (first load, or a background refresh). */
async function refreshedHealth() {
  clock += config.HEALTH_REFRESH_MS
  const background: Promise<unknown>[] = []
  await currentHealth(env, (promise) => background.push(promise), clock)
  await Promise.all(background)
  return currentHealth(env, () => {}, clock)
}

const view = (over: Partial<HealthView>): HealthView => ({
  circuit: 'closed', coolingUntil: null, errorRate: 0, samples: 10, ttfbMs: 300, tokensPerSecond: 50, lastSeen: clock, ...over,
})

describe('currentHealth', () => {

  it('nothing stored is nothing known', async () => {
    await env.KV.delete(HEALTH_KV_KEY)
    const health = await refreshedHealth()
    expect(health('m/x@p')).toBeUndefined()
  })

  it('reads the published snapshot, without its live stats', async () => {
    const expected = view({ circuit: 'open', errorRate: 0.8 })
    const published = { ...expected, uptime_last_5m: 20 }
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: clock, endpoints: { 'm/a@p': published } }))
    const health = await refreshedHealth()
    expect(health('m/a@p')).toEqual(expected)
    expect(health('toString')).toBeUndefined()
  })

  it('serves the memo until HEALTH_REFRESH_MS has passed, then refreshes in the background', async () => {
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: clock, endpoints: { 'm/a@p': view({}) } }))
    const first = await refreshedHealth()
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: clock, endpoints: { 'm/a@p': view({ circuit: 'half_open' }) } }))
    const background: Promise<unknown>[] = []
    const soon = await currentHealth(env, (promise) => background.push(promise), clock + config.HEALTH_REFRESH_MS - 1)
    expect(background).toHaveLength(0)
    expect(soon('m/a@p')?.circuit).toBe('closed')
    const later = await currentHealth(env, (promise) => background.push(promise), clock + config.HEALTH_REFRESH_MS)
    expect(background).toHaveLength(1)
    expect(later('m/a@p')?.circuit).toBe('closed') // still the memo: the hot path never waits
    await Promise.all(background)
    expect((await currentHealth(env, () => {}, clock + config.HEALTH_REFRESH_MS))('m/a@p')?.circuit).toBe('half_open')
    expect(first('m/a@p')?.circuit).toBe('closed')
    clock += config.HEALTH_REFRESH_MS
  })

  it('keeps the last good snapshot when a background refresh cannot read KV, and reads nothing known when a first read cannot', async () => {
    const cooling = view({ coolingUntil: clock + 600_000 })
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: clock, endpoints: { 'm/down@p': cooling } }))
    expect((await refreshedHealth())('m/down@p')).toEqual(cooling)
    const failing = vi.spyOn(env.KV, 'get').mockRejectedValue(new Error('KV GET failed: 503'))
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      expect((await refreshedHealth())('m/down@p')).toEqual(cooling)
      forgetPublishedHealth(env)
      expect((await currentHealth(env, () => {}, clock))('m/down@p')).toBeUndefined()
      expect(logged).toHaveBeenCalledWith('health snapshot could not be read', 'KV GET failed: 503')
    } finally {
      failing.mockRestore()
      logged.mockRestore()
    }
    expect((await currentHealth(env, () => {}, clock))('m/down@p')).toEqual(cooling)
  })

  it('merges this isolate’s own observations at once: circuit and cooling pessimistically, the error rate with its own sample count', async () => {
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: clock, endpoints: { 'm/merge@p': view({ samples: 40 }) } }))
    const before = await refreshedHealth()
    expect(before('m/merge@p')?.circuit).toBe('closed')
    for (let i = 0; i < config.CIRCUIT_CONSECUTIVE_FAILURES; i++) {
      recordLocally(env, observation('connection_error', clock, { endpoint: 'm/merge@p' }), config)
    }
    recordLocally(env, observation('rate_limited', clock, { endpoint: 'm/local-only@p', retryAfterMs: 5_000 }), config)
    const health = await currentHealth(env, () => {}, clock)
    // The local circuit opened at once; the error rate stays the richer (global) view's, with its 40 samples.
    expect(health('m/merge@p')).toMatchObject({ circuit: 'open', errorRate: 0, samples: 40, ttfbMs: 300 })
    expect(health('m/local-only@p')).toMatchObject({ coolingUntil: clock + 5_000, samples: 0 })

    forgetLocalHealth(env)
    const forgotten = await currentHealth(env, () => {}, clock)
    expect(forgotten('m/merge@p')?.circuit).toBe('closed')
    expect(forgotten('m/local-only@p')).toBeUndefined()
  })

  it.each([
    { name: 'not JSON', stored: '{oops' },
    { name: 'the wrong shape', stored: JSON.stringify({ endpoints: [] }) },
    { name: 'a bad view', stored: JSON.stringify({ publishedAt: 1, endpoints: { 'm/a@p': { circuit: 'broken' } } }) },
  ])('ignores a snapshot that is $name: nothing known, no error', async ({ stored }) => {
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: clock, endpoints: { 'm/a@p': view({ circuit: 'open' }) } }))
    expect((await refreshedHealth())('m/a@p')?.circuit).toBe('open')
    await env.KV.put(HEALTH_KV_KEY, stored)
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const health = await refreshedHealth()
    expect(health('m/a@p')).toBeUndefined()
    expect(logged).toHaveBeenCalledOnce()
    logged.mockRestore()
  })
})

describe('published circuits age', () => {
  it('ages a published open circuit to half-open once CIRCUIT_OPEN_MS has passed since its last failure', async () => {
    const failedAt = clock
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: clock, endpoints: { 'm/aged@p': view({ circuit: 'open', lastSeen: failedAt }) } }))
    expect((await refreshedHealth())('m/aged@p')?.circuit).toBe('open')
    // No newer snapshot; the published "open" turns half-open on time all the same.
    expect((await currentHealth(env, () => {}, failedAt + config.CIRCUIT_OPEN_MS))('m/aged@p')?.circuit).toBe('half_open')
  })
})

describe('a half-open probe that fails in an isolate that did not see the circuit open', () => {
  it('re-opens the circuit in that isolate’s merged view, instead of reading closed', async () => {
    forgetLocalHealth(env)
    forgetPublishedHealth(env)
    const key = 'x/chat@eu'
    const t0 = Date.now() - 25_000
    const published = viewOf(fold(['a', 'b', 'c'].map((_, i) => observation('server_error', t0 + i, { endpoint: key }))), t0 + 1_000, CONFIG)
    expect(published.circuit).toBe('open')
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: t0 + 1_000, endpoints: { [key]: published } }))
    const now = t0 + config.CIRCUIT_OPEN_MS + 2_000
    expect((await currentHealth(env, () => {}, now))(key)?.circuit).toBe('half_open')
    recordLocally(env, observation('server_error', now, { endpoint: key }), config)
    expect((await currentHealth(env, () => {}, now + 1))(key)?.circuit).toBe('open')
    forgetLocalHealth(env)
    forgetPublishedHealth(env)
  })
})

describe('a published circuit and this isolate’s outcomes from before it turned half-open', () => {
  const key = 'x/chat@eu'
  /** Publishes a global view opened by three failures at t0..t0+2 (other isolates'), as the HealthDO would. */
  async function publishOpenedAt(t0: number) {
    forgetLocalHealth(env)
    forgetPublishedHealth(env)
    const published = viewOf(fold([0, 1, 2].map((i) => observation('server_error', t0 + i, { endpoint: key }))), t0 + 1_000, CONFIG)
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: t0 + 1_000, endpoints: { [key]: published } }))
  }

  it('reads half-open in an isolate whose own failures tripped it too: it probes, not waits for the next snapshot', async () => {
    const t0 = Date.now() - 120_000
    await publishOpenedAt(t0)
    for (let i = 0; i < 3; i++) recordLocally(env, observation('server_error', t0 + 5_000 + i, { endpoint: key }), config)
    expect((await currentHealth(env, () => {}, t0 + 5_002 + config.CIRCUIT_OPEN_MS + 1))(key)?.circuit).toBe('half_open')
    forgetLocalHealth(env)
    forgetPublishedHealth(env)
  })

  it('is not closed, once half-open, by a success of a request in flight while it was open', async () => {
    const t0 = Date.now() - 120_000
    await publishOpenedAt(t0)
    recordLocally(env, observation('success', t0 + 3_000, { endpoint: key, ttfbMs: 300 }), config)
    expect((await currentHealth(env, () => {}, t0 + 3_001))(key)?.circuit).toBe('open')
    expect((await currentHealth(env, () => {}, t0 + 2 + config.CIRCUIT_OPEN_MS + 1))(key)?.circuit).toBe('half_open')
    forgetLocalHealth(env)
    forgetPublishedHealth(env)
  })
})

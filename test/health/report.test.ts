import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { STALL_MS } from '../../src/clock'
import { configOf } from '../../src/config'
import { HealthDO, healthObject } from '../../src/health/health-do'
import { localView } from '../../src/health/local'
import { reportObservations } from '../../src/health/report'
import { latch } from '../support/upstream'
import { observation } from './support'

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

/** A flush timer the test fires by hand, and the waitUntil promises the reports handed over. */
function harness() {
  const timer = latch()
  const sleeps: number[] = []
  const background: Promise<unknown>[] = []
  const waitUntil = (promise: Promise<unknown>) => background.push(promise)
  const sleep = (ms: number) => {
    sleeps.push(ms)
    return timer.promise
  }
  return { timer, sleeps, background, waitUntil, sleep }
}

describe('reportObservations', () => {
  it('counts locally at once and sends many observations in one HealthDO call per flush interval', async () => {
    const report = vi.spyOn(HealthDO.prototype, 'report')
    const { timer, sleeps, background, waitUntil, sleep } = harness()
    const now = Date.now()
    for (let i = 0; i < 200; i++) {
      reportObservations(env, waitUntil, [observation(i % 2 ? 'success' : 'server_error', now, { endpoint: 'm/busy@p' })], sleep)
    }
    expect(background).toHaveLength(1)
    expect(sleeps).toEqual([configOf(env).HEALTH_FLUSH_MS])
    expect(localView(env, 'm/busy@p', now)).toMatchObject({ samples: 200, errorRate: 0.5 })
    expect(report).not.toHaveBeenCalled()

    timer.release()
    await Promise.all(background)
    expect(report).toHaveBeenCalledTimes(1)
    expect(report.mock.calls[0]![0]).toHaveLength(200)
    expect((await healthObject(env).stats(now)).endpoints['m/busy@p']).toMatchObject({ samples: 200 })

    // The next observation starts the next interval.
    reportObservations(env, waitUntil, [observation('success', now, { endpoint: 'm/busy@p' })], sleep)
    expect(background).toHaveLength(2)
    await Promise.all(background)
    expect(report).toHaveBeenCalledTimes(2)
  })

  it('a failed flush never throws into the request', async () => {
    // A HealthDO whose calls fail, as an overloaded or unreachable object's would.
    const failing = { getByName: () => ({ report: () => Promise.reject(new Error('object overloaded')) }) }
    const broken = { ...env, HEALTH: failing as unknown as typeof env.HEALTH }
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const { timer, background, waitUntil, sleep } = harness()
    expect(() => reportObservations(broken, waitUntil, [observation('success', Date.now(), { endpoint: 'm/lost@p' })], sleep)).not.toThrow()
    timer.release()
    await expect(Promise.all(background)).resolves.toBeDefined()
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('health flush of 1 observations failed'), expect.stringContaining('object overloaded'))
    expect(localView(broken, 'm/lost@p', Date.now())?.samples).toBe(1)
  })

  it('flushes with the real timer too', async () => {
    const fast = { ...env, HEALTH_FLUSH_MS: '20' }
    const background: Promise<unknown>[] = []
    const now = Date.now()
    reportObservations(fast, (promise) => background.push(promise), [observation('success', now, { endpoint: 'm/timer@p' })])
    await Promise.all(background)
    expect((await healthObject(env).stats(now)).endpoints['m/timer@p']).toMatchObject({ samples: 1 })
  })

  it('replaces a flush whose timer never fired (its request’s context ended), so this isolate keeps reporting', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const report = vi.spyOn(HealthDO.prototype, 'report')
    const dead = harness()
    const now = Date.now()
    reportObservations(env, dead.waitUntil, [observation('success', now, { endpoint: 'm/orphan@p' })], dead.sleep)
    const flushMs = configOf(env).HEALTH_FLUSH_MS
    // Late, but not yet presumed dead: the observation joins the pending flush.
    vi.setSystemTime(now + flushMs + STALL_MS)
    const live = harness()
    reportObservations(env, live.waitUntil, [observation('success', now, { endpoint: 'm/orphan@p' })], live.sleep)
    expect(live.background).toHaveLength(0)
    vi.setSystemTime(now + flushMs + STALL_MS + 1)
    reportObservations(env, live.waitUntil, [observation('success', now, { endpoint: 'm/orphan@p' })], live.sleep)
    expect(live.background).toHaveLength(1)
    live.timer.release()
    await Promise.all(live.background)
    expect(report).toHaveBeenCalledTimes(1)
    expect(report.mock.calls[0]![0]).toHaveLength(3)
    // Should the old one wake after all, it sends nothing twice.
    dead.timer.release()
    await Promise.all(dead.background)
    expect(report).toHaveBeenCalledTimes(1)
  })
})

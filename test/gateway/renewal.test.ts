import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Env } from '../../src/env'
import { keepReserved, mayOutlastReservation } from '../../src/gateway/renewal'
import { latch } from '../support/upstream'

/** A key namespace whose objects record each renewal (`fail` makes that many fail first), and the work handed to waitUntil. */
function fakeKeys(fail = 0) {
  const renewals: { key: string; ids: string[]; now: number }[] = []
  const kept: Promise<unknown>[] = []
  const env = {
    RESERVATION_TTL_MS: '900',
    KEYS: {
      idFromName: (name: string) => name,
      get: (key: string) => ({
        renew: (ids: string[], now: number) => {
          renewals.push({ key, ids, now })
          return fail-- > 0 ? Promise.reject(new Error('object restarting')) : Promise.resolve()
        },
      }),
    },
  } as unknown as Env
  return { asker: { env, waitUntil: (promise: Promise<unknown>) => void kept.push(promise), clock: () => Date.now() }, renewals, kept }
}

describe('keeping a running request reserved', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    vi.setSystemTime(1_000_000)
  })
  afterEach(() => vi.useRealTimers())

  it('renews its reservation every third of the TTL, with the time of each beat, until the request ends', async () => {
    const { asker, renewals } = fakeKeys()
    const running = latch()
    keepReserved(asker, 'key-a', 'gen-1', running.promise)
    await vi.advanceTimersByTimeAsync(299)
    expect(renewals).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    await vi.advanceTimersByTimeAsync(600)
    expect(renewals).toEqual([
      { key: 'key-a', ids: ['gen-1'], now: 1_000_300 },
      { key: 'key-a', ids: ['gen-1'], now: 1_000_600 },
      { key: 'key-a', ids: ['gen-1'], now: 1_000_900 },
    ])
    running.release()
    await vi.advanceTimersByTimeAsync(3_000)
    expect(renewals).toHaveLength(3)
  })

  it('renews nothing at a beat that finds no progress (a client that stopped reading), and again once it moves', async () => {
    const { asker, renewals } = fakeKeys()
    const running = latch()
    let written = 3
    keepReserved(asker, 'key-d', 'gen-4', running.promise, () => written)
    await vi.advanceTimersByTimeAsync(300)
    expect(renewals).toEqual([])
    written++
    await vi.advanceTimersByTimeAsync(300)
    await vi.advanceTimersByTimeAsync(300)
    expect(renewals.map((renewal) => renewal.now)).toEqual([1_000_600])
    written++
    await vi.advanceTimersByTimeAsync(300)
    expect(renewals.map((renewal) => renewal.now)).toEqual([1_000_600, 1_001_200])
    running.release()
  })

  it('stops when the request fails too', async () => {
    const { asker, renewals } = fakeKeys()
    let fail: (error: Error) => void = () => {}
    keepReserved(asker, 'key-b', 'gen-2', new Promise((_resolve, reject) => (fail = reject)))
    await vi.advanceTimersByTimeAsync(300)
    fail(new Error('relay broke'))
    await vi.advanceTimersByTimeAsync(3_000)
    expect(renewals).toHaveLength(1)
  })

  it('keeps going after a renewal fails, and hands every call to waitUntil without a rejection', async () => {
    const { asker, renewals, kept } = fakeKeys(1)
    const running = latch()
    keepReserved(asker, 'key-c', 'gen-3', running.promise)
    await vi.advanceTimersByTimeAsync(600)
    expect(renewals.map((renewal) => renewal.now)).toEqual([1_000_300, 1_000_600])
    expect(kept).toHaveLength(2)
    await expect(Promise.all(kept)).resolves.toBeDefined()
    running.release()
  })
})

describe('whether a JSON request can outlast its reservation', () => {
  it('is so when its last attempt, a ticket’s head start and the settlement’s flush may run past the TTL', () => {
    const defaults = { ATTEMPT_DEADLINE_MS: 120_000, TIMEOUT_NON_STREAMING_MS: 600_000, RESERVATION_TTL_MS: 900_000, LEASE_MS: 1_000 }
    expect(mayOutlastReservation(defaults)).toBe(false)
    expect(mayOutlastReservation({ ...defaults, TIMEOUT_NON_STREAMING_MS: 780_000 })).toBe(true)
    // 120 + 600 + 1 + 25 (FLUSH_LIFE_MS) seconds.
    expect(mayOutlastReservation({ ...defaults, RESERVATION_TTL_MS: 746_001 })).toBe(false)
    expect(mayOutlastReservation({ ...defaults, RESERVATION_TTL_MS: 746_000 })).toBe(true)
  })
})

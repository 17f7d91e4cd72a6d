import { afterEach, describe, expect, it, vi } from 'vitest'
import { STALL_MS } from '../../src/clock'
import type { Env } from '../../src/env'
import { deliverSettlement, FLUSH_LIFE_MS, FLUSH_TURN_MS, RETRY_AFTER_MS, settlementsDelivered, settlementsUndelivered, takeSettlements } from '../../src/gateway/outbox'
import type { Settlement } from '../../src/tenancy/protocol'

/** A key namespace whose every object records the settlement batches it is sent. */
function fakeKeys(settle: (batch: Settlement[]) => Promise<void> = async () => {}) {
  const calls: string[][] = []
  const env = {
    KEYS: {
      idFromName: (name: string) => name,
      get: () => ({
        settle: (batch: Settlement[]) => {
          calls.push(batch.map((s) => s.id))
          return settle(batch)
        },
      }),
    },
  } as unknown as Env
  return { env, calls }
}

let serial = 0
const key = () => `key-${++serial}`
const settlement = (id: string): Settlement => ({ id, now: 1, costNano: 10, tokens: 2, record: '{}' })
const LINGER = 1

/** Whether a settlement's request started a flush of its own (a pending promise) rather than joining one. */
async function startedOwn(delivered: Promise<void>): Promise<boolean> {
  let settled = false
  void delivered.then(() => (settled = true))
  await Promise.resolve()
  await Promise.resolve()
  return !settled
}

describe('the settlement outbox', () => {
  it('sends a settlement no admission carried after the linger, with the key’s other waiting ones in one call', async () => {
    const { env, calls } = fakeKeys()
    const hash = key()
    const first = deliverSettlement(env, hash, settlement('a'), LINGER)
    const second = deliverSettlement(env, hash, settlement('b'), LINGER)
    await Promise.all([first, second])
    expect(calls).toEqual([['a', 'b']])
    expect(takeSettlements(hash)).toEqual([])
  })

  it('lets the key’s next admission carry it: no call of its own', async () => {
    const { env, calls } = fakeKeys()
    const hash = key()
    const pending = deliverSettlement(env, hash, settlement('a'), LINGER)
    const carried = takeSettlements(hash)
    expect(carried.map((s) => s.id)).toEqual(['a'])
    // A second admission in flight at the same time does not take it again.
    expect(takeSettlements(hash)).toEqual([])
    settlementsDelivered(hash, carried)
    await pending
    expect(calls).toEqual([])
  })

  it('sends it itself when its carrier failed, or has not answered after a few lingers', async () => {
    const { env, calls } = fakeKeys()
    const failed = key()
    const one = deliverSettlement(env, failed, settlement('a'), LINGER)
    settlementsUndelivered(failed, takeSettlements(failed))
    await one
    const slow = key()
    const two = deliverSettlement(env, slow, settlement('b'), LINGER)
    expect(takeSettlements(slow)).toHaveLength(1)
    await two
    expect(calls).toEqual([['a'], ['b']])
  })

  describe('a failed call', () => {
    afterEach(() => vi.useRealTimers())

    it('leaves its settlements waiting, sent again after growing pauses until the object answers', async () => {
      vi.useFakeTimers()
      // The object fails the first two calls that carry 'a', and answers every other.
      let failing = 2
      const { env, calls } = fakeKeys((batch) =>
        batch.some((s) => s.id === 'a') && failing-- > 0 ? Promise.reject(new Error('object restarting')) : Promise.resolve(),
      )
      const hash = key()
      const flush = deliverSettlement(env, hash, settlement('a'), 10)
      await vi.advanceTimersByTimeAsync(10)
      expect(calls).toEqual([['a']])
      // During the pause, 'a' waits; a settlement queued meanwhile goes at its own linger.
      await deliverSettlement(env, hash, settlement('b'), 10)
      await vi.advanceTimersByTimeAsync(RETRY_AFTER_MS[0]! - 20)
      expect(calls).toEqual([['a'], ['b']])
      await vi.advanceTimersByTimeAsync(20)
      expect(calls).toEqual([['a'], ['b'], ['a']])
      // Failed twice: the second, longer pause, then it is delivered and the flush ends.
      await vi.advanceTimersByTimeAsync(RETRY_AFTER_MS[1]! - 20)
      expect(calls).toHaveLength(3)
      await vi.advanceTimersByTimeAsync(20)
      await flush
      expect(calls).toEqual([['a'], ['b'], ['a'], ['a']])
      expect(takeSettlements(hash)).toEqual([])
    })

    it('is not carried by an admission during its pause, only after it', async () => {
      vi.useFakeTimers()
      const { env } = fakeKeys(() => Promise.reject(new Error('object restarting')))
      const hash = key()
      // A long linger: the flush's next round comes well after the pause.
      void deliverSettlement(env, hash, settlement('a'), 1_000)
      await vi.advanceTimersByTimeAsync(1_000)
      expect(takeSettlements(hash)).toEqual([])
      await vi.advanceTimersByTimeAsync(RETRY_AFTER_MS[0]! - 5)
      expect(takeSettlements(hash)).toEqual([])
      await vi.advanceTimersByTimeAsync(5)
      expect(takeSettlements(hash).map((s) => s.id)).toEqual(['a'])
    })

    it('ends its flush FLUSH_LIFE_MS after it started; what still waits goes with the next flush', async () => {
      vi.useFakeTimers()
      // Every call fails, 4 s after it is made.
      const { env, calls } = fakeKeys(() => new Promise<void>((_, reject) => setTimeout(() => reject(new Error('object overloaded')), 4_000)))
      const hash = key()
      let ended = false
      void deliverSettlement(env, hash, settlement('a'), 10).then(() => (ended = true))
      // Calls fail at about 4, 8.3, 13.3 and 20.3 s, each followed by its pause; the flush ends at 25 s, during the fourth pause.
      await vi.advanceTimersByTimeAsync(FLUSH_LIFE_MS - 100)
      expect(ended).toBe(false)
      await vi.advanceTimersByTimeAsync(400)
      expect(ended).toBe(true)
      expect(calls).toHaveLength(4)
      await vi.advanceTimersByTimeAsync(RETRY_AFTER_MS[3]!)
      expect(takeSettlements(hash).map((s) => s.id)).toEqual(['a'])
    })

    it('gives a settlement up when the call after its last pause fails too, and says so (the alarm charges the reservation)', async () => {
      vi.useFakeTimers()
      const { env, calls } = fakeKeys(() => Promise.reject(new Error('object unreachable')))
      const hash = key()
      const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
      const flush = deliverSettlement(env, hash, settlement('a'), 10)
      await vi.advanceTimersByTimeAsync(RETRY_AFTER_MS.reduce((sum, pause) => sum + pause + 10, 10))
      await flush
      expect(calls).toEqual(Array.from({ length: RETRY_AFTER_MS.length + 1 }, () => ['a']))
      expect(logged).toHaveBeenCalledOnce()
      expect(logged).toHaveBeenCalledWith(expect.stringContaining(`1 settlements failed ${RETRY_AFTER_MS.length + 1} times`))
      logged.mockRestore()
      expect(takeSettlements(hash)).toEqual([])
    })
  })

  it('carries at most a bounded batch per admission', async () => {
    const { env, calls } = fakeKeys()
    const hash = key()
    const pending = Array.from({ length: 70 }, (_, i) => deliverSettlement(env, hash, settlement(`s${i}`), LINGER))
    const batches = [takeSettlements(hash), takeSettlements(hash)]
    expect(batches.map((batch) => batch.length)).toEqual([64, 6])
    for (const batch of batches) settlementsDelivered(hash, batch)
    await Promise.all(pending)
    expect(calls).toEqual([])
  })

  describe('one flush per key', () => {
    afterEach(() => vi.useRealTimers())

    it('is started by the first settlement; the others start no timer and are sent by it', async () => {
      vi.useFakeTimers()
      const { env, calls } = fakeKeys()
      const hash = key()
      const flush = deliverSettlement(env, hash, settlement('a'), 100)
      const others = [deliverSettlement(env, hash, settlement('b'), 100), deliverSettlement(env, hash, settlement('c'), 100)]
      await Promise.all(others)
      expect(vi.getTimerCount()).toBe(1)
      expect(calls).toEqual([])
      await vi.advanceTimersByTimeAsync(100)
      await flush
      expect(calls).toEqual([['a', 'b', 'c']])
      expect(vi.getTimerCount()).toBe(0)
    })

    it('leaves what was queued during a round to the next one, so the key’s admissions may carry it', async () => {
      vi.useFakeTimers()
      const { env, calls } = fakeKeys()
      const hash = key()
      const flush = deliverSettlement(env, hash, settlement('a'), 100)
      await vi.advanceTimersByTimeAsync(60)
      await deliverSettlement(env, hash, settlement('b'), 100)
      await vi.advanceTimersByTimeAsync(40)
      expect(calls).toEqual([['a']])
      expect(takeSettlements(hash).map((s) => s.id)).toEqual(['b'])
      settlementsDelivered(hash, [settlement('b')])
      await vi.advanceTimersByTimeAsync(100)
      await flush
      expect(calls).toEqual([['a']])
    })

    it('waits the linger the key’s latest settlement asked for, from its next round', async () => {
      vi.useFakeTimers()
      const { env, calls } = fakeKeys()
      const hash = key()
      const flush = deliverSettlement(env, hash, settlement('a'), 25)
      await deliverSettlement(env, hash, settlement('b'), 250)
      // Now carried by an admission that has not answered: the flush keeps going, at the new linger.
      expect(takeSettlements(hash).map((s) => s.id)).toEqual(['a', 'b'])
      await vi.advanceTimersByTimeAsync(25)
      settlementsUndelivered(hash, [settlement('b')])
      settlementsDelivered(hash, [settlement('a')])
      await vi.advanceTimersByTimeAsync(249)
      expect(calls).toEqual([])
      await vi.advanceTimersByTimeAsync(1)
      await flush
      expect(calls).toEqual([['b']])
    })

    it('hands over to a newer request after FLUSH_TURN_MS, and ends while the traffic goes on (no waitUntil nears the runtime’s 30 s)', async () => {
      vi.useFakeTimers()
      const { env, calls } = fakeKeys()
      const hash = key()
      const done: boolean[] = []
      const flushes: Promise<void>[] = []
      // A steady key for 12 s: one settlement every 50 ms keeps something waiting at every round.
      for (let n = 0; n * 50 < 12_000; n++) {
        const flush = deliverSettlement(env, hash, settlement(`s${n}`), 100)
        const index = flushes.length
        if (await startedOwn(flush)) {
          flushes.push(flush)
          done.push(false)
          void flush.then(() => (done[index] = true))
        }
        await vi.advanceTimersByTimeAsync(50)
        // While the traffic goes on, every flush but the newest has ended within its turn and one round.
        const elapsed = (n + 1) * 50
        if (elapsed > FLUSH_TURN_MS + 100) expect(done[0]).toBe(true)
        if (elapsed > 2 * FLUSH_TURN_MS + 100) expect(done[1]).toBe(true)
      }
      expect(flushes.length).toBe(3)
      await vi.advanceTimersByTimeAsync(200)
      await Promise.all(flushes)
      // Every settlement was sent, in order (some twice at a handover is allowed, none lost).
      expect([...new Set(calls.flat())]).toEqual(Array.from({ length: 240 }, (_, i) => `s${i}`))
    })

    it('replaces a flush that stopped making progress (its request died), so the key’s settlements still go', async () => {
      vi.useFakeTimers()
      let first = true
      // The first call never answers: the flush that made it is stuck for good.
      const { env, calls } = fakeKeys(() => (first ? ((first = false), new Promise<void>(() => {})) : Promise.resolve()))
      const hash = key()
      void deliverSettlement(env, hash, settlement('a'), 100)
      await vi.advanceTimersByTimeAsync(100)
      expect(calls).toEqual([['a']])
      // Within its linger plus the stall allowance, a new settlement still trusts the stuck flush.
      await vi.advanceTimersByTimeAsync(100 + STALL_MS)
      let trusted = false
      await deliverSettlement(env, hash, settlement('b'), 100).then(() => (trusted = true))
      expect(trusted).toBe(true)
      await vi.advanceTimersByTimeAsync(1)
      const replacing = deliverSettlement(env, hash, settlement('c'), 100)
      await vi.advanceTimersByTimeAsync(100)
      expect(calls).toEqual([['a'], ['b', 'c']])
      // The stuck call's settlement is still carried by it; after its patience the new flush sends it too.
      await vi.advanceTimersByTimeAsync(300)
      await replacing
      expect(calls).toEqual([['a'], ['b', 'c'], ['a']])
    })

    it('trusts a flush that is slow but working: a call that answers, or a long linger, is progress', async () => {
      vi.useFakeTimers()
      // Each call answers after 2,050 ms, within the stall allowance of a 100 ms linger.
      const { env, calls } = fakeKeys(() => new Promise<void>((resolve) => setTimeout(resolve, 2_050)))
      const hash = key()
      const flush = deliverSettlement(env, hash, settlement('a'), 100)
      await vi.advanceTimersByTimeAsync(1_000)
      expect(await startedOwn(deliverSettlement(env, hash, settlement('b'), 100))).toBe(false)
      // The call answers at 2,150 ms and the flush sleeps again for b; 60 ms later it is still trusted.
      await vi.advanceTimersByTimeAsync(1_210)
      expect(await startedOwn(deliverSettlement(env, hash, settlement('c'), 100))).toBe(false)
      // A flush sleeping a 5 s linger is not presumed dead 2.1 s in, though a settlement since asked for 25 ms.
      const slow = key()
      const long = deliverSettlement(env, slow, settlement('d'), 5_000)
      await vi.advanceTimersByTimeAsync(1_000)
      expect(await startedOwn(deliverSettlement(env, slow, settlement('e'), 25))).toBe(false)
      await vi.advanceTimersByTimeAsync(1_100)
      expect(await startedOwn(deliverSettlement(env, slow, settlement('f'), 25))).toBe(false)
      await vi.advanceTimersByTimeAsync(20_000)
      await Promise.all([flush, long])
      expect(calls).toEqual([['a'], ['b'], ['c'], ['d'], ['e', 'f']])
    })
  })
})

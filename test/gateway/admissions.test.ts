import { describe, expect, it, vi } from 'vitest'
import type { Env } from '../../src/env'
import { requestAdmission } from '../../src/gateway/admissions'
import type { Admission, AdmissionItem, Settlement } from '../../src/tenancy/protocol'

/** A key namespace whose object records each admission call and answers when the test says so. */
function fakeKeys() {
  const calls: { ids: string[]; answer: (admissions: Admission[] | Error) => void }[] = []
  const settled: Settlement[] = []
  const env = {
    SETTLE_LINGER_MS: '5',
    KEYS: {
      idFromName: (name: string) => name,
      get: () => ({
        admit: (items: AdmissionItem[], carried: Settlement[]) =>
          new Promise<Admission[]>((resolve, reject) => {
            settled.push(...carried)
            calls.push({ ids: items.map((item) => item.id), answer: (result) => (result instanceof Error ? reject(result) : resolve(result)) })
          }),
        settle: async (batch: Settlement[]) => void settled.push(...batch),
      }),
    },
  } as unknown as Env
  return { env, calls, settled }
}

const item = (id: string): AdmissionItem => ({ id, request: { now: 1, candidates: [{ model: 'm', provider: 'p', worstCaseNano: 10 }], promptTokens: 1, maxAttempts: 1 } })
/** The gateway's clock in these tests: the time every item arrived. */
const clock = () => 1
const admitted = (n: number): Admission[] => Array.from({ length: n }, (_, i) => ({ ok: true, allowed: [i] }))
const idsOf = (calls: { ids: string[] }[]) => calls.map((call) => call.ids)
let serial = 0
const stillThere = new AbortController().signal

describe('coalesced admissions', () => {
  it('send at once when nothing is in flight, and queue behind a call in flight into one call', async () => {
    const { env, calls } = fakeKeys()
    const keyHash = `key-${++serial}`
    const kept: Promise<unknown>[] = []
    const admit = (id: string) => requestAdmission({ env, waitUntil: (promise) => kept.push(promise), clientGone: stillThere, clock }, keyHash, item(id))
    const first = admit('a')
    // Sent synchronously: an idle key's admission never waits.
    expect(idsOf(calls)).toEqual([['a']])
    const queued = [admit('b'), admit('c'), admit('d')]
    calls[0]!.answer(admitted(1))
    // Each request settles its own reservation, named by its id.
    expect(await first).toEqual({ ok: true, allowed: [0], reservation: 'a' })
    // One queued request leads the next call, for all three, in arrival order.
    await vi.waitFor(() => expect(calls).toHaveLength(2))
    expect(idsOf(calls)).toEqual([['a'], ['b', 'c', 'd']])
    calls[1]!.answer(admitted(3))
    expect(await Promise.all(queued)).toEqual(['b', 'c', 'd'].map((id, i) => ({ ok: true, allowed: [i], reservation: id })))
    // Both calls and the three waits were kept alive with waitUntil, so a leader whose client
    // leaves still answers the rest, and a follower whose client leaves still gets its answer.
    expect(kept).toHaveLength(5)
    // Idle again: the next admission goes out alone, at once.
    const last = admit('e')
    expect(idsOf(calls).at(-1)).toEqual(['e'])
    calls[2]!.answer(admitted(1))
    await last
  })

  it('fails every request a failed call carried, releasing what the object may have reserved for them; the next admission goes out on its own', async () => {
    const { env, calls, settled } = fakeKeys()
    const keyHash = `key-${++serial}`
    const kept: Promise<unknown>[] = []
    const admit = (id: string) => requestAdmission({ env, waitUntil: (promise) => kept.push(promise), clientGone: stillThere, clock }, keyHash, item(id))
    const first = admit('a')
    const carried = [admit('b'), admit('c')]
    calls[0]!.answer(new Error('object unreachable'))
    // A 503 to retry, not an internal error: the object's trouble is logged, not shown.
    await expect(first).rejects.toMatchObject({ status: 503, message: expect.stringContaining('could not be checked'), headers: { 'retry-after': '1' } })
    await vi.waitFor(() => expect(calls).toHaveLength(2))
    calls[1]!.answer(new Error('still unreachable'))
    for (const failed of carried) await expect(failed).rejects.toMatchObject({ status: 503 })
    const later = admit('d')
    expect(idsOf(calls)).toEqual([['a'], ['b', 'c'], ['d']])
    calls[2]!.answer(admitted(1))
    expect(await later).toEqual({ ok: true, allowed: [0], reservation: 'd' })
    await Promise.all(kept)
    // Released (no record): the answer may have been lost after the object committed the call.
    // ('a' goes twice: the second call carried it and failed too. Settling is idempotent.)
    expect([...new Set(settled.map((s) => s.id))].sort()).toEqual(['a', 'b', 'c'])
    expect(settled.every((s) => s.record === null)).toBe(true)
  })

  it('drops a queued admission whose client left before it was sent: it is never admitted', async () => {
    const { env, calls } = fakeKeys()
    const keyHash = `key-${++serial}`
    const first = requestAdmission({ env, waitUntil: () => {}, clientGone: stillThere, clock }, keyHash, item('a'))
    const client = new AbortController()
    const abandoned = requestAdmission({ env, waitUntil: () => {}, clientGone: client.signal, clock }, keyHash, item('b'))
    const kept = requestAdmission({ env, waitUntil: () => {}, clientGone: stillThere, clock }, keyHash, item('c'))
    client.abort()
    await expect(abandoned).rejects.toThrow('The client left')
    calls[0]!.answer(admitted(1))
    await first
    await vi.waitFor(() => expect(calls).toHaveLength(2))
    expect(idsOf(calls)).toEqual([['a'], ['c']])
    calls[1]!.answer(admitted(1))
    await kept
  })

  it('moves on from a call presumed lost, and its late answer does not release the newer call', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const { env, calls } = fakeKeys()
      const keyHash = `key-${++serial}`
      const lost = requestAdmission({ env, waitUntil: () => {}, clientGone: stillThere, clock }, keyHash, item('a'))
      const next = requestAdmission({ env, waitUntil: () => {}, clientGone: stillThere, clock }, keyHash, item('b'))
      vi.setSystemTime(Date.now() + 31_000)
      await vi.waitFor(() => expect(calls).toHaveLength(2))
      calls[0]!.answer(admitted(1))
      await lost
      // The newer call is still in flight: a new admission queues behind it rather than going out.
      const behind = requestAdmission({ env, waitUntil: () => {}, clientGone: stillThere, clock }, keyHash, item('c'))
      expect(calls).toHaveLength(2)
      calls[1]!.answer(admitted(1))
      await next
      await vi.waitFor(() => expect(calls).toHaveLength(3))
      calls[2]!.answer(admitted(1))
      await behind
    } finally {
      vi.useRealTimers()
    }
  })

  it('keeps keys apart', async () => {
    const { env, calls } = fakeKeys()
    const one = requestAdmission({ env, waitUntil: () => {}, clientGone: stillThere, clock }, `key-${++serial}`, item('a'))
    const two = requestAdmission({ env, waitUntil: () => {}, clientGone: stillThere, clock }, `key-${++serial}`, item('b'))
    expect(idsOf(calls)).toEqual([['a'], ['b']])
    for (const call of calls) call.answer(admitted(1))
    await Promise.all([one, two])
  })
})

describe('tickets for a busy key', () => {
  const grant = (ids: string[]) => ({ ids, reserveNano: 10, lists: { allowedModels: null, allowedProviders: null }, until: 41 })
  /** Like fakeKeys, recording the spares each call offers and the settlements the object receives. */
  function fakeLeasingKeys() {
    const calls: { ids: string[]; spares: string[]; answer: (admissions: Admission[] | Error) => void }[] = []
    const settled: Settlement[] = []
    const env = {
      LEASE_MS: '40',
      LEASE_MAX_TICKETS: '4',
      SETTLE_LINGER_MS: '5',
      KEYS: {
        idFromName: (name: string) => name,
        get: () => ({
          admit: (items: AdmissionItem[], carried: Settlement[]) =>
            new Promise<Admission[]>((resolve, reject) => {
              settled.push(...carried)
              calls.push({
                ids: items.map((item) => item.id),
                spares: items[0]?.spares ?? [],
                answer: (result) => (result instanceof Error ? reject(result) : resolve(result)),
              })
            }),
          settle: async (batch: Settlement[]) => void settled.push(...batch),
        }),
      },
    } as unknown as Env
    return { env, calls, settled }
  }

  it('offers spares once the key is busy; tickets serve later and queued requests with no call; the rest go back', async () => {
    const { env, calls, settled } = fakeLeasingKeys()
    const keyHash = `key-${++serial}`
    const kept: Promise<unknown>[] = []
    const admit = (id: string) => requestAdmission({ env, waitUntil: (promise) => kept.push(promise), clientGone: stillThere, clock }, keyHash, item(id))
    for (let i = 0; i < 7; i++) {
      const pending = admit(`r${i}`)
      calls[i]!.answer(admitted(1))
      await pending
    }
    // Seven requests in this lease: not busy yet, so no call offered spares.
    expect(calls.every((call) => call.spares.length === 0)).toBe(true)
    const eighth = admit('r7')
    const offered = calls[7]!.spares
    expect(offered).toHaveLength(4)
    // The object grants two of the four.
    calls[7]!.answer([{ ok: true, allowed: [0], tickets: grant(offered.slice(0, 2)) }])
    expect(await eighth).toEqual({ ok: true, allowed: [0], reservation: 'r7' })
    const [x, y] = [await admit('x'), await admit('y')]
    expect([x, y].map((a) => a.ok && a.reservation).sort()).toEqual(offered.slice(0, 2).sort())
    expect(calls).toHaveLength(8)
    // No ticket left: the next request calls (offering spares again), and one queued behind it
    // takes a ticket that call brings instead of calling itself.
    const z = admit('z')
    const queued = admit('q')
    const again = calls[8]!.spares
    expect(again).toHaveLength(4)
    calls[8]!.answer([{ ok: true, allowed: [0], tickets: grant(again.slice(0, 2)) }])
    expect(await z).toMatchObject({ reservation: 'z' })
    const taken = await queued
    expect(taken.ok && again.slice(0, 2).includes(taken.reservation)).toBe(true)
    expect(calls).toHaveLength(9)
    // When the lease ends, the ticket nobody took is released: a settlement without a record.
    const unused = again.slice(0, 2).find((id) => taken.ok && id !== taken.reservation)
    await vi.waitFor(() => expect(settled).toEqual([expect.objectContaining({ id: unused, costNano: 0, tokens: 0, record: null })]))
    await Promise.all(kept)
  })

  it('never gives a ticket to a queued request whose client has left', async () => {
    const { env, calls } = fakeLeasingKeys()
    const keyHash = `key-${++serial}`
    const admit = (id: string, clientGone = stillThere) => requestAdmission({ env, waitUntil: () => {}, clientGone, clock }, keyHash, item(id))
    for (let i = 0; i < 7; i++) {
      const pending = admit(`r${i}`)
      calls[i]!.answer(admitted(1))
      await pending
    }
    const leader = admit('r7')
    const client = new AbortController()
    const left = admit('gone', client.signal)
    client.abort()
    calls[7]!.answer([{ ok: true, allowed: [0], tickets: grant(calls[7]!.spares.slice(0, 1)) }])
    await leader
    await expect(left).rejects.toThrow('The client left')
    // The ticket is still there for a request that stayed.
    expect(await admit('stayed')).toMatchObject({ reservation: calls[7]!.spares[0] })
    expect(calls).toHaveLength(8)
  })

  it('gives back every spare a failed call offered and its own reservation (the object may have granted them)', async () => {
    const { env, calls, settled } = fakeLeasingKeys()
    const keyHash = `key-${++serial}`
    for (let i = 0; i < 7; i++) {
      const pending = requestAdmission({ env, waitUntil: () => {}, clientGone: stillThere, clock }, keyHash, item(`r${i}`))
      calls[i]!.answer(admitted(1))
      await pending
    }
    const kept: Promise<unknown>[] = []
    const failed = requestAdmission({ env, waitUntil: (promise) => kept.push(promise), clientGone: stillThere, clock }, keyHash, item('r7'))
    const offered = calls[7]!.spares
    calls[7]!.answer(new Error('object unreachable'))
    await expect(failed).rejects.toMatchObject({ status: 503 })
    await Promise.all(kept)
    expect(settled.map((s) => [s.id, s.record]).sort()).toEqual(['r7', ...offered].map((id) => [id, null]).sort())
  })
})

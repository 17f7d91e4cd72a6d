import { describe, expect, it, vi } from 'vitest'
import type { Env } from '../../src/env'
import { requestAdmission } from '../../src/gateway/admissions'
import type { Admission, AdmissionItem } from '../../src/tenancy/key-do'

/** A key namespace whose object records each admission call and answers when the test says so. */
function fakeKeys() {
  const calls: { ids: string[]; answer: (admissions: Admission[] | Error) => void }[] = []
  const env = {
    KEYS: {
      idFromName: (name: string) => name,
      get: () => ({
        admit: (items: AdmissionItem[]) =>
          new Promise<Admission[]>((resolve, reject) => {
            calls.push({ ids: items.map((item) => item.id), answer: (result) => (result instanceof Error ? reject(result) : resolve(result)) })
          }),
      }),
    },
  } as unknown as Env
  return { env, calls }
}

const item = (id: string): AdmissionItem => ({ id, request: { now: 1, candidates: [], promptTokens: 1, maxAttempts: 1 } })
const admitted = (n: number): Admission[] => Array.from({ length: n }, (_, i) => ({ ok: true, allowed: [i] }))
const idsOf = (calls: { ids: string[] }[]) => calls.map((call) => call.ids)
let serial = 0
const stillThere = new AbortController().signal

describe('coalesced admissions', () => {
  it('send at once when nothing is in flight, and queue behind a call in flight into one call', async () => {
    const { env, calls } = fakeKeys()
    const keyHash = `key-${++serial}`
    const kept: Promise<unknown>[] = []
    const admit = (id: string) => requestAdmission(env, keyHash, item(id), (promise) => kept.push(promise), stillThere)
    const first = admit('a')
    // Sent synchronously: an idle key's admission never waits.
    expect(idsOf(calls)).toEqual([['a']])
    const queued = [admit('b'), admit('c'), admit('d')]
    calls[0]!.answer(admitted(1))
    expect(await first).toEqual({ ok: true, allowed: [0] })
    // One queued request leads the next call, for all three, in arrival order.
    await vi.waitFor(() => expect(calls).toHaveLength(2))
    expect(idsOf(calls)).toEqual([['a'], ['b', 'c', 'd']])
    calls[1]!.answer(admitted(3))
    expect(await Promise.all(queued)).toEqual(admitted(3))
    // Both calls and the three waits were kept alive with waitUntil, so a leader whose client
    // leaves still answers the rest, and a follower whose client leaves still gets its answer.
    expect(kept).toHaveLength(5)
    // Idle again: the next admission goes out alone, at once.
    const last = admit('e')
    expect(idsOf(calls).at(-1)).toEqual(['e'])
    calls[2]!.answer(admitted(1))
    await last
  })

  it('fails every request a failed call carried; the next admission goes out on its own', async () => {
    const { env, calls } = fakeKeys()
    const keyHash = `key-${++serial}`
    const admit = (id: string) => requestAdmission(env, keyHash, item(id), () => {}, stillThere)
    const first = admit('a')
    const carried = [admit('b'), admit('c')]
    calls[0]!.answer(new Error('object unreachable'))
    await expect(first).rejects.toThrow('object unreachable')
    await vi.waitFor(() => expect(calls).toHaveLength(2))
    calls[1]!.answer(new Error('still unreachable'))
    for (const failed of carried) await expect(failed).rejects.toThrow('still unreachable')
    const later = admit('d')
    expect(idsOf(calls)).toEqual([['a'], ['b', 'c'], ['d']])
    calls[2]!.answer(admitted(1))
    expect(await later).toEqual({ ok: true, allowed: [0] })
  })

  it('drops a queued admission whose client left before it was sent: it is never admitted', async () => {
    const { env, calls } = fakeKeys()
    const keyHash = `key-${++serial}`
    const first = requestAdmission(env, keyHash, item('a'), () => {}, stillThere)
    const client = new AbortController()
    const abandoned = requestAdmission(env, keyHash, item('b'), () => {}, client.signal)
    const kept = requestAdmission(env, keyHash, item('c'), () => {}, stillThere)
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
      const lost = requestAdmission(env, keyHash, item('a'), () => {}, stillThere)
      const next = requestAdmission(env, keyHash, item('b'), () => {}, stillThere)
      vi.setSystemTime(Date.now() + 31_000)
      await vi.waitFor(() => expect(calls).toHaveLength(2))
      calls[0]!.answer(admitted(1))
      await lost
      // The newer call is still in flight: a new admission queues behind it rather than going out.
      const behind = requestAdmission(env, keyHash, item('c'), () => {}, stillThere)
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
    const one = requestAdmission(env, `key-${++serial}`, item('a'), () => {}, stillThere)
    const two = requestAdmission(env, `key-${++serial}`, item('b'), () => {}, stillThere)
    expect(idsOf(calls)).toEqual([['a'], ['b']])
    for (const call of calls) call.answer(admitted(1))
    await Promise.all([one, two])
  })
})

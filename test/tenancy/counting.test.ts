import { describe, expect, it } from 'vitest'
import { decideCount } from '../../src/tenancy/counting'
import { decideAdmission, emptyLedger, type Ledger } from '../../src/tenancy/ledger'
import type { KeyRecord } from '../../src/tenancy/keys'
import { keyWith, T0 } from '../support/keys'

/** Counts `times` at `now`, returning the statuses and the ledger left. */
function countMany(key: KeyRecord, times: number, now: number, start: Ledger = emptyLedger(T0)) {
  let ledger = start
  const statuses: number[] = []
  for (let i = 0; i < times; i++) {
    const decision = decideCount(key, ledger, now)
    if (decision.ok) ledger = decision.ledger
    statuses.push(decision.ok ? 200 : decision.refusal.status)
  }
  return { statuses, ledger }
}

describe('decideCount', () => {
  it('lets a key without requests_per_minute count freely, leaving its ledger as it was', () => {
    const ledger = emptyLedger(T0)
    const decision = decideCount(keyWith({ limitNano: 0, tokensPerMinute: 1, maxConcurrency: 1 }), ledger, T0)
    expect(decision).toEqual({ ok: true, ledger })
    if (decision.ok) expect(decision.ledger).toBe(ledger)
  })

  it('counts at most requests_per_minute times a minute, refilling continuously, with a Retry-After', () => {
    const key = keyWith({ requestsPerMinute: 3 })
    const { statuses, ledger } = countMany(key, 4, T0)
    expect(statuses).toEqual([200, 200, 200, 429])
    const refused = decideCount(key, ledger, T0)
    expect(refused).toMatchObject({
      ok: false,
      refusal: {
        status: 429,
        message: "Rate limit exceeded: token counts (3 per minute, the key's requests_per_minute, counted apart from its requests); retry in 20 s",
        headers: { 'retry-after': '20', 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(T0 + 20_000) },
        metadata: { limit_type: 'requests_per_minute' },
      },
    })
    // One count back every 20 s.
    expect(countMany(key, 2, T0 + 19_999, ledger).statuses).toEqual([429, 429])
    expect(countMany(key, 2, T0 + 20_000, ledger).statuses).toEqual([200, 429])
  })

  it("takes counts from a bucket apart from the key's requests, both ways", () => {
    const key = keyWith({ requestsPerMinute: 1 })
    const request = { now: T0, candidates: [{ model: 'a/b', provider: 'p', worstCaseNano: 0 }], promptTokens: 1, maxAttempts: 1 }
    const admitted = decideAdmission(key, emptyLedger(T0), request)
    if (!admitted.ok) throw new Error('first request refused')
    expect(decideAdmission(key, admitted.ledger, request).ok).toBe(false)
    const counted = countMany(key, 2, T0, admitted.ledger)
    expect(counted.statuses).toEqual([200, 429])
    expect(counted.ledger.requests).toEqual(admitted.ledger.requests)
    const fresh = countMany(key, 1, T0).ledger
    expect(decideAdmission(key, fresh, request).ok).toBe(true)
  })

  it('refuses a disabled or expired key without taking a count', () => {
    const ledger = emptyLedger(T0)
    expect(decideCount(keyWith({ requestsPerMinute: 5 }, { disabled: true }), ledger, T0)).toMatchObject({
      ok: false,
      refusal: { status: 401, message: 'API key is disabled' },
    })
    const expired = keyWith({ requestsPerMinute: 5 }, { expires_at: new Date(T0).toISOString() })
    expect(decideCount(expired, ledger, T0)).toMatchObject({ ok: false, refusal: { status: 401, message: 'API key has expired' } })
  })
})

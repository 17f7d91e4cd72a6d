import { describe, expect, it } from 'vitest'
import { decideAdmission, decideTickets, emptyLedger, expireInLedger, releaseLedger, remainingNano, rollPeriods, settleLedger, type Ledger } from '../../src/tenancy/ledger'
import type { KeyRecord } from '../../src/tenancy/keys'
import { OPEN_POLICY, globMatches } from '../../src/tenancy/policy'
import { keyWith, T0 } from '../support/keys'

const candidates = [
  { model: 'openai/gpt-x', provider: 'openai', worstCaseNano: 1_000 },
  { model: 'openai/gpt-x', provider: 'azure', worstCaseNano: 3_000 },
  { model: 'anthropic/claude-y', provider: 'anthropic', worstCaseNano: 2_000 },
]
const request = (now = T0, promptTokens = 10, maxAttempts = 4) => ({ now, candidates, promptTokens, maxAttempts })

/** Admits repeatedly, returning the statuses in order (and the final ledger). */
function admitMany(key: KeyRecord, count: number, now = T0, start: Ledger = emptyLedger(T0)) {
  let ledger = start
  const statuses: number[] = []
  for (let i = 0; i < count; i++) {
    const decision = decideAdmission(key, ledger, request(now))
    if (decision.ok) ledger = decision.ledger
    statuses.push(decision.ok ? 200 : decision.refusal.status)
  }
  return { statuses, ledger }
}

describe('decideAdmission', () => {
  it('admits an open key and reserves the dearest allowed candidate', () => {
    const decision = decideAdmission(keyWith({}), emptyLedger(T0), request())
    expect(decision).toMatchObject({ ok: true, allowed: [0, 1, 2], reserveNano: 3_000 })
    if (decision.ok) expect(decision.ledger).toMatchObject({ reservedNano: 3_000, inFlight: 1 })
  })

  it('narrows candidates to the allow-lists and reserves only among them', () => {
    const decision = decideAdmission(keyWith({ allowedProviders: ['openai', 'anthropic'] }), emptyLedger(T0), request())
    expect(decision).toMatchObject({ ok: true, allowed: [0, 2], reserveNano: 2_000 })
    expect(decideAdmission(keyWith({ allowedModels: ['anthropic/*'] }), emptyLedger(T0), request())).toMatchObject({ ok: true, allowed: [2] })
  })

  it('keeps only maxAttempts of the allowed candidates, and reserves among those', () => {
    expect(decideAdmission(keyWith({}), emptyLedger(T0), request(T0, 10, 1))).toMatchObject({ ok: true, allowed: [0], reserveNano: 1_000 })
    const anthropicOnly = keyWith({ allowedProviders: ['anthropic'] })
    // The allowed candidate is third in the plan: the cut happens after the allow-list, not before.
    expect(decideAdmission(anthropicOnly, emptyLedger(T0), request(T0, 10, 1))).toMatchObject({ ok: true, allowed: [2] })
  })

  it('refuses with 403 when nothing is allowed', () => {
    const decision = decideAdmission(keyWith({ allowedModels: ['mistralai/*'] }), emptyLedger(T0), request())
    expect(decision).toMatchObject({ ok: false, refusal: { status: 403 } })
  })

  it('refuses disabled and expired keys with 401', () => {
    expect(decideAdmission(keyWith({}, { disabled: true }), emptyLedger(T0), request())).toMatchObject({ refusal: { status: 401 } })
    const expired = keyWith({}, { expires_at: new Date(T0).toISOString() })
    expect(decideAdmission(expired, emptyLedger(T0), request())).toMatchObject({ refusal: { status: 401, message: 'API key has expired' } })
  })

  it('admits exactly as many worst cases as the limit covers, then 402 saying what is left', () => {
    const { statuses, ledger } = admitMany(keyWith({ limitNano: 10_000 }), 5)
    expect(statuses).toEqual([200, 200, 200, 402, 402])
    expect(ledger.reservedNano).toBe(9_000)
    const refusal = decideAdmission(keyWith({ limitNano: 10_000 }), ledger, request())
    expect(refusal).toMatchObject({ ok: false, refusal: { status: 402, metadata: { limit_remaining: 0.000001, required: 0.000003 } } })
    if (!refusal.ok) expect(refusal.refusal.message).toContain('up to $0.000003 but the key has $0.000001 of its $0.00001 limit left')
  })

  it('admits exactly requests_per_minute in a burst, then refills one every 60/rpm seconds', () => {
    const key = keyWith({ requestsPerMinute: 3 })
    const burst = admitMany(key, 4)
    expect(burst.statuses).toEqual([200, 200, 200, 429])
    const refusal = decideAdmission(key, burst.ledger, request())
    expect(refusal).toMatchObject({
      ok: false,
      refusal: { status: 429, headers: { 'retry-after': '20', 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(T0 + 20_000) } },
    })
    expect(admitMany(key, 2, T0 + 19_999, burst.ledger).statuses).toEqual([429, 429])
    expect(admitMany(key, 2, T0 + 20_000, burst.ledger).statuses).toEqual([200, 429])
    expect(admitMany(key, 4, T0 + 60_000, burst.ledger).statuses).toEqual([200, 200, 200, 429])
  })

  it('counts prompt tokens against tokens_per_minute', () => {
    const key = keyWith({ tokensPerMinute: 25 })
    expect(admitMany(key, 3).statuses).toEqual([200, 200, 429])
  })

  it('holds max_concurrency until a request settles', () => {
    const key = keyWith({ maxConcurrency: 2 })
    const { statuses, ledger } = admitMany(key, 3)
    expect(statuses).toEqual([200, 200, 429])
    const after = settleLedger(ledger, { amountNano: 3_000, tokens: 0, createdAt: T0, expired: false, expiresAt: T0 }, 500, 0, T0)
    expect(admitMany(key, 2, T0, after).statuses).toEqual([200, 429])
  })

  /** Asks at each instant until one passes; the instants tried, in order. */
  function askUntilAdmitted(key: KeyRecord, ledger: Ledger, at: number, promptTokens = 10): number[] {
    const tried = [at]
    for (;;) {
      const decision = decideAdmission(key, ledger, request(at, promptTokens))
      if (decision.ok || tried.length > 5) return tried
      at = Number(decision.refusal.headers['x-ratelimit-reset'])
      expect(Number(decision.refusal.headers['retry-after'])).toBe(Math.max(1, Math.ceil((at - tried.at(-1)!) / 1000)))
      tried.push(at)
    }
  }

  it('sends a client refused by one limit back when every limit would let it through, not only that one', () => {
    // requests_per_minute refuses for 20 s, but the token bucket is 30 below zero (settled usage): 80 s.
    const both = keyWith({ requestsPerMinute: 3, tokensPerMinute: 30 })
    const drained: Ledger = { ...emptyLedger(T0), requests: { level: 0, updatedAt: T0 }, tokens: { level: -30, updatedAt: T0 } }
    expect(askUntilAdmitted(both, drained, T0)).toEqual([T0, T0 + 80_000])
    // max_concurrency looks again in a second, but the one request a minute is spent for 60 s.
    const busy = keyWith({ maxConcurrency: 1, requestsPerMinute: 1 })
    const spent: Ledger = { ...emptyLedger(T0), inFlight: 1, requests: { level: 0, updatedAt: T0 } }
    const refused = decideAdmission(busy, spent, request())
    expect(refused).toMatchObject({ ok: false, refusal: { metadata: { limit_type: 'max_concurrency' }, headers: { 'retry-after': '60', 'x-ratelimit-reset': String(T0 + 60_000) } } })
    expect(decideAdmission(busy, { ...spent, inFlight: 0 }, request(T0 + 60_000)).ok).toBe(true)
  })

  it('names in X-RateLimit-Reset an instant at which the request passes, whatever the floating point', () => {
    // requests_per_minute 2, these admissions, then a refusal whose computed wait fell a hair short.
    const key = keyWith({ requestsPerMinute: 2 })
    let ledger = emptyLedger(T0)
    for (const at of [18_246, 27_253, 66_452, 105_320, 149_097, 190_645, 208_276, 235_361]) {
      const decision = decideAdmission(key, ledger, request(T0 + at))
      expect(decision.ok).toBe(true)
      if (decision.ok) ledger = decision.ledger
    }
    expect(askUntilAdmitted(key, ledger, T0 + 247_438)).toHaveLength(2)
  })
})

describe('settlement and expiry', () => {
  const policy = { ...OPEN_POLICY, limitNano: 1_000_000 }

  it('replaces the reservation with the real cost', () => {
    const reserved = { ...emptyLedger(T0), reservedNano: 3_000, inFlight: 1 }
    const settled = settleLedger(reserved, { amountNano: 3_000, tokens: 0, createdAt: T0, expired: false, expiresAt: T0 }, 1_234, 0, T0)
    expect(settled).toMatchObject({ reservedNano: 0, inFlight: 0, totalNano: 1_234 })
    expect(remainingNano(settled, policy)).toBe(1_000_000 - 1_234)
  })

  it('charges an expired reservation in full, and a late settlement corrects it', () => {
    const reserved = { ...emptyLedger(T0), reservedNano: 3_000, inFlight: 1 }
    const expired = expireInLedger(reserved, { amountNano: 3_000, tokens: 0, createdAt: T0, expired: false, expiresAt: T0 }, T0)
    expect(expired).toMatchObject({ reservedNano: 0, inFlight: 0, totalNano: 3_000 })
    const corrected = settleLedger(expired, { amountNano: 3_000, tokens: 0, createdAt: T0, expired: true, expiresAt: T0 }, 1_000, 0, T0)
    expect(corrected).toMatchObject({ reservedNano: 0, inFlight: 0, totalNano: 1_000 })
  })

  it('credits a late correction only to the period the expiry charged, so a new period is never undercounted', () => {
    const policy = keyWith({ limitNano: 10_000, limitReset: 'daily' }).policy
    const expiresAt = Date.parse('2026-11-22T23:55:00Z')
    const reservation = { amountNano: 5_000, tokens: 0, createdAt: T0, expired: false, expiresAt }
    // Day 1: the alarm charges the abandoned reservation in full.
    const expired = expireInLedger({ ...emptyLedger(expiresAt), reservedNano: 5_000, inFlight: 1 }, reservation, expiresAt)
    // Day 2: the key spends its whole limit.
    const nextDay = Date.parse('2026-11-23T00:05:00Z')
    const spent = settleLedger({ ...rollPeriods(expired, nextDay), reservedNano: 10_000, inFlight: 1 }, { ...reservation, amountNano: 10_000, expiresAt: nextDay + 60_000 }, 10_000, 0, nextDay)
    expect(remainingNano(spent, policy)).toBe(0)
    // Then the expired request's settlement arrives: it really cost 10.
    const corrected = settleLedger(spent, { ...reservation, expired: true }, 10, 0, nextDay + 300_000)
    expect(corrected.totalNano).toBe(5_000 - 5_000 + 10 + 10_000)
    expect(corrected.periods.daily.usedNano).toBe(10_000)
    expect(remainingNano(corrected, policy)).toBe(0)
    // Sunday night to Monday: a new week too. The month is the one the expiry charged: it takes the correction.
    expect(corrected.periods.weekly.usedNano).toBe(10_000)
    expect(corrected.periods.monthly.usedNano).toBe(10_010)
    // Released instead (an unused ticket), the same holds.
    expect(remainingNano(releaseLedger(spent, { ...reservation, expired: true }, nextDay + 300_000), policy)).toBe(0)
  })

  it('rolls daily, weekly and monthly usage over at UTC midnight, Monday and the 1st', () => {
    const sunday = Date.parse('2026-11-29T23:00:00Z')
    let ledger = settleLedger({ ...emptyLedger(sunday), inFlight: 1 }, { amountNano: 0, tokens: 0, createdAt: T0, expired: false, expiresAt: T0 }, 700, 0, sunday)
    expect(ledger.periods.daily.usedNano).toBe(700)
    ledger = settleLedger({ ...ledger, inFlight: 1 }, { amountNano: 0, tokens: 0, createdAt: T0, expired: false, expiresAt: T0 }, 5, 0, Date.parse('2026-11-30T00:00:00Z'))
    expect([ledger.totalNano, ledger.periods.daily.usedNano, ledger.periods.weekly.usedNano, ledger.periods.monthly.usedNano]).toEqual([705, 5, 5, 705])
    ledger = settleLedger({ ...ledger, inFlight: 1 }, { amountNano: 0, tokens: 0, createdAt: T0, expired: false, expiresAt: T0 }, 1, 0, Date.parse('2026-12-01T00:00:00Z'))
    expect([ledger.totalNano, ledger.periods.daily.usedNano, ledger.periods.weekly.usedNano, ledger.periods.monthly.usedNano]).toEqual([706, 1, 6, 1])
  })

  it('keeps a ledger as it is until its day ends, also for a moment before it (requests arrive out of order)', () => {
    const ledger = emptyLedger(Date.parse('2026-11-30T08:00:00Z'))
    expect(rollPeriods(ledger, Date.parse('2026-11-30T23:59:59.999Z'))).toBe(ledger)
    expect(rollPeriods(ledger, Date.parse('2026-11-29T23:59:59Z'))).toBe(ledger)
    const next = rollPeriods(ledger, Date.parse('2026-12-01T00:00:00Z'))
    expect([next.periods.daily.start, next.periods.weekly.start, next.periods.monthly.start]).toEqual([
      Date.parse('2026-12-01T00:00:00Z'),
      Date.parse('2026-11-30T00:00:00Z'),
      Date.parse('2026-12-01T00:00:00Z'),
    ])
  })

  it('lets a daily limit renew at midnight', () => {
    const key = keyWith({ limitNano: 3_000, limitReset: 'daily' })
    const day1 = admitMany(key, 2)
    expect(day1.statuses).toEqual([200, 402])
    const spent = settleLedger(day1.ledger, { amountNano: 3_000, tokens: 0, createdAt: T0, expired: false, expiresAt: T0 }, 3_000, 0, T0)
    expect(admitMany(key, 1, T0, spent).statuses).toEqual([402])
    expect(admitMany(key, 1, Date.parse('2026-11-23T00:00:00Z'), spent).statuses).toEqual([200])
  })
})

describe('tickets (admission leases)', () => {
  const LEASE_END = T0 + 1_000

  it('grants only while four times as many again would still be admitted: a fifth of what is left', () => {
    // Reserve 3,000 each (dearest of the four allowed); 20 worst cases fit, 2 are already admitted.
    const key = keyWith({ limitNano: 60_000 })
    const { ledger } = admitMany(key, 2)
    const tickets = decideTickets(key, ledger, request(), 16, LEASE_END)
    expect(tickets).toMatchObject({ granted: 3, reserveNano: 3_000 })
    expect(tickets.ledger).toMatchObject({ reservedNano: 15_000, inFlight: 5 })
    // The fifteen left are admitted one by one, exactly; tickets never take a key's last budget.
    expect(admitMany(key, 16, T0, tickets.ledger).statuses).toEqual([...Array<number>(15).fill(200), 402])
  })

  it('grants no more than offered, and each ticket is an admission (rate, concurrency)', () => {
    const key = keyWith({ requestsPerMinute: 100, maxConcurrency: 50 })
    const tickets = decideTickets(key, emptyLedger(T0), request(), 8, LEASE_END)
    expect(tickets.granted).toBe(8)
    expect(tickets.ledger.inFlight).toBe(8)
    expect(tickets.ledger.requests?.level).toBe(92)
  })

  it('grants none near a limit, to a key refused when the lease would end, or when none are offered', () => {
    expect(decideTickets(keyWith({ requestsPerMinute: 4 }), emptyLedger(T0), request(), 4, LEASE_END).granted).toBe(0)
    expect(decideTickets(keyWith({ maxConcurrency: 4 }), emptyLedger(T0), request(), 4, LEASE_END).granted).toBe(0)
    // Ten slots free: two tickets, leaving eight.
    expect(decideTickets(keyWith({ maxConcurrency: 10 }), emptyLedger(T0), request(), 4, LEASE_END).granted).toBe(2)
    const expiring = keyWith({}, { expires_at: new Date(T0 + 500).toISOString() })
    expect(decideTickets(expiring, emptyLedger(T0), request(), 4, LEASE_END)).toMatchObject({ granted: 0, ledger: emptyLedger(T0) })
    expect(decideTickets(keyWith({}), emptyLedger(T0), request(), 0, LEASE_END).granted).toBe(0)
  })

  it('gives a released ticket back: its money, its slot and its rate tokens', () => {
    const key = keyWith({ limitNano: 1_000_000, requestsPerMinute: 100, tokensPerMinute: 1_000 })
    const start = emptyLedger(T0)
    const tickets = decideTickets(key, start, request(), 2, LEASE_END)
    expect(tickets).toMatchObject({ granted: 2, reserveTokens: 10 })
    const reservation = { amountNano: tickets.reserveNano, tokens: tickets.reserveTokens, createdAt: T0, expired: false, expiresAt: T0 }
    const released = releaseLedger(releaseLedger(tickets.ledger, reservation, T0), reservation, T0)
    expect(released).toMatchObject({ reservedNano: 0, inFlight: 0, totalNano: 0, requests: { level: 100 }, tokens: { level: 1_000 } })
    // One the alarm already charged in full is corrected to nothing.
    const expired = expireInLedger(tickets.ledger, reservation, T0)
    expect(releaseLedger(expired, { ...reservation, expired: true, expiresAt: T0 }, T0)).toMatchObject({ totalNano: 0, reservedNano: 3_000, inFlight: 1 })
  })
})

describe('globMatches', () => {
  it.each([
    ['anthropic/*', 'anthropic/claude-x', true],
    ['anthropic/*', 'openai/gpt', false],
    ['*', 'anything/at-all', true],
    ['openai/gpt-4o', 'openai/gpt-4o-mini', false],
    ['openai/gpt-4o*', 'openai/gpt-4o-mini', true],
    ['deep.seek', 'deepxseek', false],
    ['OpenAI/*', 'openai/GPT-4o', true],
    ['*/gpt-*-mini', 'openai/gpt-4o-mini', true],
    ['*/gpt-*-mini', 'openai/gpt-4o-mini-tts', false],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYc-', false],
    ['**x**', 'abxcd', true],
    ['', '', true],
    ['a?', 'ab', false],
  ])('%s matches %s: %s', (pattern, value, expected) => {
    expect(globMatches(pattern, value)).toBe(expected)
  })

  it('answers at once for patterns a regular expression backtracks on exponentially', () => {
    // As a regular expression (each * as .*), `*************z` took 5 s against an 18-character
    // model id, and each more star doubled it: these would not finish at all.
    const id = 'a'.repeat(200)
    expect(globMatches(`${'*'.repeat(199)}z`, id)).toBe(false)
    expect(globMatches(`${'a*'.repeat(99)}b`, id)).toBe(false)
    expect(globMatches(`${'a*'.repeat(100)}`, id)).toBe(true)
  })
})

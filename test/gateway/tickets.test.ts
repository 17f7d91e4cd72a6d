import { describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG } from '../../src/config'
import { settlementLinger } from '../../src/gateway/accounting'
import { countAdmission, HOT_KEY_REQUESTS, holdTickets, lapse, sparesWanted, takeTicket } from '../../src/gateway/tickets'
import type { AdmissionRequest } from '../../src/tenancy/ledger'

const LEASE = 1_000
const T0 = 1_000_000
let serial = 0
const newKey = () => `tickets-key-${++serial}`

const candidate = (provider: string, worstCaseNano = 100) => ({ model: 'm/one', provider, worstCaseNano })
const request = (fields: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  now: T0,
  candidates: [candidate('p1'), candidate('p2')],
  promptTokens: 10,
  maxAttempts: 4,
  ...fields,
})
const open = { allowedModels: null, allowedProviders: null }

describe('how busy a key is', () => {
  it('asks for no spares until the key is busy, then for a lease of its traffic less what it holds', () => {
    const key = newKey()
    for (let i = 0; i < HOT_KEY_REQUESTS - 1; i++) countAdmission(key, T0 + i, LEASE)
    expect(sparesWanted(key, T0 + 10, LEASE, 16)).toEqual([])
    countAdmission(key, T0 + 10, LEASE)
    const spares = sparesWanted(key, T0 + 10, LEASE, 16)
    expect(spares).toHaveLength(HOT_KEY_REQUESTS)
    expect(new Set(spares).size).toBe(spares.length)
    holdTickets(key, request(), { ids: ['a', 'b', 'c'], reserveNano: 100, lists: open, until: T0 + LEASE })
    expect(sparesWanted(key, T0 + 10, LEASE, 16)).toHaveLength(HOT_KEY_REQUESTS - 3)
    expect(sparesWanted(key, T0 + 10, LEASE, 4)).toHaveLength(1)
  })

  it('lets settlements wait longer while the isolate holds tickets of the key, so they go in fewer, larger calls', () => {
    const key = newKey()
    // Busy but without tickets (say, near a limit): settlements go at the usual pace.
    for (let i = 0; i < HOT_KEY_REQUESTS; i++) countAdmission(key, T0 + i, LEASE)
    expect(settlementLinger(DEFAULT_CONFIG, key)).toBe(DEFAULT_CONFIG.SETTLE_LINGER_MS)
    const lot = holdTickets(key, request(), { ids: ['t1'], reserveNano: 100, lists: open, until: T0 + LEASE })
    expect(settlementLinger(DEFAULT_CONFIG, key)).toBe(DEFAULT_CONFIG.SETTLE_LINGER_BUSY_MS)
    expect(DEFAULT_CONFIG.SETTLE_LINGER_BUSY_MS).toBeGreaterThan(DEFAULT_CONFIG.SETTLE_LINGER_MS)
    lapse(key, lot)
    expect(settlementLinger(DEFAULT_CONFIG, key)).toBe(DEFAULT_CONFIG.SETTLE_LINGER_MS)
  })

  it('keeps counting a request timed before the window (arrivals reach admission out of order)', () => {
    const key = newKey()
    countAdmission(key, T0, LEASE)
    for (let i = 0; i < HOT_KEY_REQUESTS - 1; i++) countAdmission(key, T0 + LEASE + i, LEASE)
    // A new window started at T0 + LEASE; a late request from before it counts rather than resetting it.
    countAdmission(key, T0 + LEASE - 5, LEASE)
    expect(sparesWanted(key, T0 + LEASE + 10, LEASE, 16)).toHaveLength(HOT_KEY_REQUESTS)
  })

  it('remembers the previous window for one lease, then forgets a quiet key', () => {
    const key = newKey()
    for (let i = 0; i < 10; i++) countAdmission(key, T0 + i, LEASE)
    countAdmission(key, T0 + LEASE + 1, LEASE)
    expect(sparesWanted(key, T0 + LEASE + 1, LEASE, 16)).toHaveLength(10)
    countAdmission(key, T0 + 4 * LEASE, LEASE)
    expect(sparesWanted(key, T0 + 4 * LEASE, LEASE, 16)).toEqual([])
  })
})

describe('taking a ticket', () => {
  it('covers a request whose allowed endpoints, by the key allow-lists, reserve no more than the ticket', () => {
    const key = newKey()
    holdTickets(key, request(), { ids: ['t1', 't2', 't3'], reserveNano: 100, lists: { allowedModels: null, allowedProviders: ['p2'] }, until: T0 + LEASE })
    // The plan came back in another order: the allow-list still picks p2, now first.
    expect(takeTicket(key, request({ candidates: [candidate('p2'), candidate('p1')] }), T0)).toEqual({ id: 't3', allowed: [0] })
    // p1 may cost more than the ticket reserves: only the allowed p2 counts.
    expect(takeTicket(key, request({ candidates: [candidate('p1', 900), candidate('p2')] }), T0)).toEqual({ id: 't2', allowed: [1] })
    // Dearer where it is allowed, a larger prompt, other attempts, or nothing allowed (a 403 is the object's to give): no.
    expect(takeTicket(key, request({ candidates: [candidate('p2', 101)] }), T0)).toBeNull()
    expect(takeTicket(key, request({ promptTokens: 11 }), T0)).toBeNull()
    expect(takeTicket(key, request({ maxAttempts: 3 }), T0)).toBeNull()
    expect(takeTicket(key, request({ candidates: [candidate('p1')] }), T0)).toBeNull()
    expect(takeTicket(key, request(), T0)).toEqual({ id: 't1', allowed: [1] })
    expect(takeTicket(key, request(), T0)).toBeNull()
  })

  it("is valid from the asking request until the object's lease end, judged when it is taken", () => {
    const key = newKey()
    holdTickets(key, request(), { ids: ['t1'], reserveNano: 100, lists: open, until: T0 + LEASE })
    expect(takeTicket(key, request(), T0 - 1)).toBeNull()
    // Arrived in time, but taken after the lease ended: no.
    expect(takeTicket(key, request({ now: T0 + 10 }), T0 + LEASE)).toBeNull()
    expect(takeTicket(key, request({ now: T0 + 10 }), T0 + LEASE - 1)).toEqual({ id: 't1', allowed: [0, 1] })
  })

  it('gives back what nobody took when the lease ends, and the lot serves nothing after', () => {
    const key = newKey()
    const lot = holdTickets(key, request(), { ids: ['t1', 't2'], reserveNano: 100, lists: open, until: T0 + LEASE })
    expect(takeTicket(key, request(), T0)).not.toBeNull()
    expect(lapse(key, lot)).toEqual(['t1'])
    expect(takeTicket(key, request(), T0)).toBeNull()
    expect(lapse(key, lot)).toEqual([])
  })
})

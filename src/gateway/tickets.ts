import type { AdmissionRequest } from '../tenancy/ledger'

/**
 * Tickets this isolate holds (docs/quotas.md, "Admission leases"): admissions that a busy key's
 * object decided ahead, granted along with one of the key's admission calls and valid until the
 * lease ends. A later request of the same shape (the same candidate endpoints, a worst case and a
 * prompt no larger) takes one instead of calling the object: same reservation, same allowed
 * endpoints, as the object would have decided for it. What is not taken when the lease ends is
 * given back (`lapse`). Isolate memory: data only, no I/O objects.
 */

/** A grant: tickets for requests shaped like `template`. */
export interface Lot {
  template: AdmissionRequest
  shape: string
  reserveNano: number
  allowed: number[]
  /** On the clock of `template.now`; a ticket is used only before it. */
  expiresAt: number
  ids: string[]
}

interface KeyTickets {
  lots: Lot[]
  /** Admissions of this key seen by this isolate, in the current and the previous lease-long window. */
  windowStart: number
  count: number
  previous: number
}

const held = new Map<string, KeyTickets>()

/** A key this isolate admitted fewer times than this in the last lease gets no tickets. */
export const HOT_KEY_REQUESTS = 8
/** Keys whose traffic this isolate remembers before it forgets the idle ones. */
const MAX_KEYS = 1_000

/** What decides the allowed endpoints: the candidates, in order, and how many are tried. */
function shapeOf(request: AdmissionRequest): string {
  return `${request.maxAttempts}|${request.candidates.map((candidate) => `${candidate.model} ${candidate.provider}`).join('|')}`
}

/** What an admission of `request` reserves, given the endpoints the key allows. */
function reserveOf(request: AdmissionRequest, allowed: number[]): number {
  return Math.max(0, ...allowed.map((index) => request.candidates[index]?.worstCaseNano ?? Infinity))
}

function entryFor(keyHash: string, now: number, leaseMs: number): KeyTickets {
  let entry = held.get(keyHash)
  if (!entry) {
    if (held.size >= MAX_KEYS) forgetIdle(now, leaseMs)
    held.set(keyHash, (entry = { lots: [], windowStart: now, count: 0, previous: 0 }))
  }
  const elapsed = now - entry.windowStart
  if (elapsed >= leaseMs || elapsed < 0) {
    entry.previous = elapsed >= 0 && elapsed < 2 * leaseMs ? entry.count : 0
    entry.count = 0
    entry.windowStart = now
  }
  return entry
}

function forgetIdle(now: number, leaseMs: number): void {
  for (const [keyHash, entry] of held) if (entry.lots.length === 0 && now - entry.windowStart >= 2 * leaseMs) held.delete(keyHash)
}

/** Counts a request of the key (how busy it is decides the tickets asked for). */
export function countAdmission(keyHash: string, now: number, leaseMs: number): void {
  entryFor(keyHash, now, leaseMs).count++
}

/**
 * Takes a ticket that fits the request, if this isolate holds one: its id (the reservation the
 * request settles) and the endpoints it allows. Null: the request needs an admission call.
 */
export function takeTicket(keyHash: string, request: AdmissionRequest): { id: string; allowed: number[] } | null {
  const lots = held.get(keyHash)?.lots ?? []
  const shape = shapeOf(request)
  for (const lot of lots) {
    const fits =
      lot.ids.length > 0 &&
      lot.shape === shape &&
      request.now >= lot.template.now &&
      request.now < lot.expiresAt &&
      request.promptTokens <= lot.template.promptTokens &&
      reserveOf(request, lot.allowed) <= lot.reserveNano
    const id = fits ? lot.ids.pop() : undefined
    if (id !== undefined) return { id, allowed: lot.allowed }
  }
  return null
}

/**
 * Ids to offer as spares with an admission call of the key: about a lease's worth of this
 * isolate's traffic for the key, less the tickets it still holds; none for a key that is not busy.
 */
export function sparesWanted(keyHash: string, now: number, leaseMs: number, maxTickets: number): string[] {
  const entry = held.get(keyHash)
  if (!entry || leaseMs === 0) return []
  const traffic = Math.max(entry.count, entry.previous)
  if (traffic < HOT_KEY_REQUESTS) return []
  const holding = entry.lots.reduce((sum, lot) => sum + (lot.expiresAt > now ? lot.ids.length : 0), 0)
  const wanted = Math.min(maxTickets, traffic) - holding
  return Array.from({ length: Math.max(0, wanted) }, () => `ticket-${crypto.randomUUID()}`)
}

/** Holds tickets the object granted for `template`; `lapse` the returned lot when the lease ends. */
export function holdTickets(keyHash: string, template: AdmissionRequest, allowed: number[], ids: string[], leaseMs: number): Lot {
  const lot: Lot = {
    template,
    shape: shapeOf(template),
    reserveNano: reserveOf(template, allowed),
    allowed,
    expiresAt: template.now + leaseMs,
    ids: [...ids],
  }
  entryFor(keyHash, template.now, leaseMs).lots.push(lot)
  return lot
}

/** Ends a lot's lease: its tickets no longer fit anything. Returns the ids nobody took, to give back. */
export function lapse(keyHash: string, lot: Lot): string[] {
  const entry = held.get(keyHash)
  if (entry) entry.lots = entry.lots.filter((held) => held !== lot)
  const unused = lot.ids
  lot.ids = []
  return unused
}

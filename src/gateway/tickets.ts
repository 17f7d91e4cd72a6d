import type { TicketGrant } from '../tenancy/protocol'
import { allowedCandidates, reservationFor, type AdmissionRequest, type AllowLists } from '../tenancy/ledger'

/**
 * Tickets this isolate holds (docs/quotas.md, "Admission leases"): admissions that a busy key's
 * object decided ahead, granted along with one of the key's admission calls and valid until the
 * lease ends. A later request takes one instead of calling the object when the ticket covers it:
 * its endpoints, narrowed by the key's allow-lists exactly as the object would, reserve no more
 * than the ticket, and its prompt estimate is no larger. What is not taken when the lease ends is
 * given back (`lapse`). Isolate memory: data only, no I/O objects.
 */

/** A grant: tickets, each reserving `reserveNano`, valid from `start` until `expiresAt`. */
export interface Lot {
  reserveNano: number
  promptTokens: number
  maxAttempts: number
  lists: AllowLists
  /** On the clock of the request that asked for them (its arrival), like the object's decisions. */
  start: number
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

/** The key's entry, moved to the end of the map: the map's order is least recently used first. */
function entryFor(keyHash: string, now: number): KeyTickets {
  const entry = held.get(keyHash) ?? { lots: [], windowStart: now, count: 0, previous: 0 }
  held.delete(keyHash)
  held.set(keyHash, entry)
  if (held.size > MAX_KEYS) forgetLeastRecent(now)
  return entry
}

/** Forgets the least recently used keys that hold no live tickets, down to MAX_KEYS. */
function forgetLeastRecent(now: number): void {
  for (const [keyHash, entry] of held) {
    if (held.size <= MAX_KEYS) return
    if (entry.lots.every((lot) => lot.expiresAt <= now)) held.delete(keyHash)
  }
}

/**
 * Counts a request of the key (how busy it is decides the tickets asked for). A request timed a
 * little before the current window (requests reach admission out of arrival order) counts in it.
 */
export function countAdmission(keyHash: string, now: number, leaseMs: number): void {
  const entry = entryFor(keyHash, now)
  const elapsed = now - entry.windowStart
  if (elapsed >= leaseMs) {
    entry.previous = elapsed < 2 * leaseMs ? entry.count : 0
    entry.count = 0
    entry.windowStart = now
  }
  entry.count++
}

/**
 * Takes a ticket that covers the request at `now` (when it is taken, not when the request
 * arrived), if this isolate holds one: its id (the reservation the request settles) and the
 * endpoints it may use. Null: the request needs an admission call.
 */
export function takeTicket(keyHash: string, request: AdmissionRequest, now: number): { id: string; allowed: number[] } | null {
  for (const lot of held.get(keyHash)?.lots ?? []) {
    if (lot.ids.length === 0 || now < lot.start || now >= lot.expiresAt) continue
    if (request.promptTokens > lot.promptTokens || request.maxAttempts !== lot.maxAttempts) continue
    const allowed = allowedCandidates(lot.lists, request)
    // Nothing allowed is a refusal (403), which only the object gives.
    if (allowed.length === 0 || reservationFor(request, allowed) > lot.reserveNano) continue
    const id = lot.ids.pop()
    if (id !== undefined) return { id, allowed }
  }
  return null
}

/** This isolate's requests of the key in the current or the previous lease, whichever is more. */
function traffic(entry: KeyTickets): number {
  return Math.max(entry.count, entry.previous)
}

/**
 * Ids to offer as spares with an admission call of the key: about a lease's worth of this
 * isolate's traffic for the key, less the tickets it still holds; none for a key that is not busy.
 */
export function sparesWanted(keyHash: string, now: number, leaseMs: number, maxTickets: number): string[] {
  const entry = held.get(keyHash)
  if (!entry || leaseMs === 0 || traffic(entry) < HOT_KEY_REQUESTS) return []
  const holding = entry.lots.reduce((sum, lot) => sum + (lot.expiresAt > now ? lot.ids.length : 0), 0)
  const wanted = Math.min(maxTickets, traffic(entry)) - holding
  // Time first, like generation ids: the object's index of reservations grows at its end rather
  // than in a random page per ticket, which its storage writes out at every commit.
  return Array.from({ length: Math.max(0, wanted) }, () => `ticket-${now}-${crypto.randomUUID()}`)
}

/**
 * Holds the tickets the object granted with the admission of `asker` (the request that offered
 * the spares); `lapse` the returned lot when the lease ends.
 */
export function holdTickets(keyHash: string, asker: AdmissionRequest, grant: TicketGrant): Lot {
  const lot: Lot = {
    reserveNano: grant.reserveNano,
    promptTokens: asker.promptTokens,
    maxAttempts: asker.maxAttempts,
    lists: grant.lists,
    start: asker.now,
    // The object's lease end, which a key change waits out (not this isolate's own LEASE_MS).
    expiresAt: grant.until,
    ids: [...grant.ids],
  }
  entryFor(keyHash, asker.now).lots.push(lot)
  return lot
}

/** Whether this isolate holds tickets of the key (a lot is dropped when its lease ends). */
export function holdsTickets(keyHash: string): boolean {
  return (held.get(keyHash)?.lots.length ?? 0) > 0
}

/** Ends a lot's lease: its tickets no longer cover anything. Returns the ids nobody took, to give back. */
export function lapse(keyHash: string, lot: Lot): string[] {
  const entry = held.get(keyHash)
  if (entry) entry.lots = entry.lots.filter((other) => other !== lot)
  const unused = lot.ids
  lot.ids = []
  return unused
}

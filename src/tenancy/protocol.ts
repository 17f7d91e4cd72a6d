import type { KeyRecord } from './keys'
import type { AdmissionRequest, AllowLists, Refusal } from './ledger'

/**
 * What the gateway and a key's Durable Object (./key-do) send each other: admissions asked and
 * answered (with the tickets granted ahead, docs/quotas.md "Admission leases"), and settlements.
 * Plain data only, so it crosses the RPC boundary with its types intact.
 */

/** `tickets`: what was granted for the spare ids the item offered, if it offered any. */
export type Admission = { ok: true; allowed: number[]; tickets?: TicketGrant } | { ok: false; refusal: Refusal }

/** A token count's admission (./counting): the key's record when it may count now. */
export type CountAdmission = { ok: true; record: KeyRecord } | { ok: false; refusal: Refusal }

/**
 * Tickets granted with an admission: the spare ids granted, what each reserves, and the key's
 * allow-lists, with which the isolate decides which endpoints a later request may use, exactly as
 * the object would until the lease ends (a change to the key waits until then).
 */
export interface TicketGrant {
  ids: string[]
  reserveNano: number
  lists: AllowLists
  /** When the lease ends, on the clock of the request that asked (what a key change waits for). */
  until: number
}

/** One request's admission: its generation id (names its reservation) and what it asks for. */
export interface AdmissionItem {
  id: string
  request: AdmissionRequest
  /**
   * Ids for tickets the isolate would like along with this admission: further admissions of the
   * same request, decided now (see decideTickets) and valid for LEASE_MS from `request.now`.
   */
  spares?: string[]
}

/**
 * A finished request's real cost, replacing its reservation; or, with a null record, an unused
 * ticket given back.
 */
export interface Settlement {
  /** The generation id (names its record). */
  id: string
  /** The reservation it replaces, when not its own id: the ticket the request took. */
  reservation?: string
  now: number
  costNano: number
  /** Prompt + completion tokens used (for tokens_per_minute), never more than the request's bound (Admitted.tokenCap). */
  tokens: number
  /** The generation record, serialised by the gateway (GenerationRecordSchema); null for a released ticket. */
  record: string | null
}

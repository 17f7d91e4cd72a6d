import { usdText } from '../catalog/pricing'
import { charge, checkBucket, fullBucket, rescale, type Bucket } from './bucket'
import type { KeyRecord } from './keys'
import { keyRefusal } from './keys'
import { DAY_MS, periodStart, type LimitReset } from './periods'
import { allowsEndpoint, type Policy } from './policy'

/**
 * The money and rate state of one key, and the pure decisions over it: admit (reserve the worst
 * case), settle (replace the reservation with the real cost), expire (charge an abandoned
 * reservation in full). Every amount is an integer nano-USD. Each decision is O(candidates).
 */

interface Period {
  start: number
  usedNano: number
}

export interface Ledger {
  totalNano: number
  periods: Record<LimitReset, Period>
  /** Sum of open reservations: money promised to requests still running. */
  reservedNano: number
  inFlight: number
  requests: Bucket | null
  tokens: Bucket | null
  /** Token counts' own bucket of requests_per_minute (./counting); absent until the key's first count. */
  counts?: Bucket | null
  /**
   * When the key's rate limits last changed. A reservation made before took its request and
   * tokens from buckets under the old limits: giving it back refunds nothing into the new ones,
   * which would otherwise fill past what they ever held (a release landing after the change).
   */
  ratesSince?: number
}

export function emptyLedger(now: number): Ledger {
  return {
    totalNano: 0,
    periods: {
      daily: { start: periodStart('daily', now), usedNano: 0 },
      weekly: { start: periodStart('weekly', now), usedNano: 0 },
      monthly: { start: periodStart('monthly', now), usedNano: 0 },
    },
    reservedNano: 0,
    inFlight: 0,
    requests: null,
    tokens: null,
  }
}

/**
 * Starts a fresh period for each period that `now` has left behind. The three periods are always
 * rolled together, so while `now` is before the end of the daily period's day no week or month
 * can have ended either (each starts at a UTC midnight): the ledger is returned as it is. That is
 * every call but the first of a day, and ticket decisions make hundreds of calls at one `now`.
 */
export function rollPeriods(ledger: Ledger, now: number): Ledger {
  if (now < ledger.periods.daily.start + DAY_MS) return ledger
  const periods = { ...ledger.periods }
  for (const kind of ['daily', 'weekly', 'monthly'] as const) {
    const start = periodStart(kind, now)
    if (start > periods[kind].start) periods[kind] = { start, usedNano: 0 }
  }
  return { ...ledger, periods }
}

export function spentNano(ledger: Ledger, policy: Policy): number {
  return policy.limitReset ? ledger.periods[policy.limitReset].usedNano : ledger.totalNano
}

/** What the key can still commit to new requests, or null when it has no limit. */
export function remainingNano(ledger: Ledger, policy: Policy): number | null {
  if (policy.limitNano === null) return null
  return Math.max(0, policy.limitNano - spentNano(ledger, policy) - ledger.reservedNano)
}

export interface Candidate {
  model: string
  provider: string
  /** The most this request can cost at this endpoint, in nano-USD. */
  worstCaseNano: number
}

export interface AdmissionRequest {
  now: number
  candidates: Candidate[]
  /** Prompt tokens (estimate) counted against tokens_per_minute. */
  promptTokens: number
  /** How many of the allowed candidates will be tried (and so bound the reservation). */
  maxAttempts: number
  /** Only each model's first allowed candidate (routing/preferences.ts primaryOnly). */
  onePerModel?: boolean
}

export interface Refusal {
  status: 401 | 402 | 403 | 429
  message: string
  headers: Record<string, string>
  /** Plain values only, so the refusal crosses the Durable Object RPC boundary with its type intact. */
  metadata: Record<string, string | number | string[] | null>
}

export type Decision =
  | { ok: true; allowed: number[]; reserveNano: number; reserveTokens: number; ledger: Ledger }
  | { ok: false; refusal: Refusal }

/**
 * A 429 for the limit `what` (its bucket's level as `remaining`, or none). `passAt` is when the next
 * request would pass every limit, not only this one: a client that waits as told is not refused
 * again by another.
 */
export function rateRefusal(what: string, limit: number, remaining: number, passAt: number, now: number, message = `Rate limit exceeded: ${what} (${limit} per minute)`): Refusal {
  const retryS = Math.max(1, Math.ceil((passAt - now) / 1000))
  return {
    status: 429,
    message: `${message}; retry in ${retryS} s`,
    headers: {
      'retry-after': String(retryS),
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, Math.floor(remaining))),
      'x-ratelimit-reset': String(Math.max(passAt, now)),
    },
    metadata: { limit_type: what },
  }
}

/** What the key's allow-lists leave of a request's candidates (their indices), up to its attempts. */
export type AllowLists = Pick<Policy, 'allowedModels' | 'allowedProviders'>

export function allowedCandidates(
  lists: AllowLists,
  request: { candidates: Pick<Candidate, 'model' | 'provider'>[]; maxAttempts: number; onePerModel?: boolean },
): number[] {
  const models = new Set<string>()
  const allowed = request.candidates.flatMap((candidate, index) => {
    if (!allowsEndpoint(lists, candidate.model, candidate.provider)) return []
    if (request.onePerModel && models.has(candidate.model)) return []
    models.add(candidate.model)
    return [index]
  })
  return cutKeepingEachModel(allowed, (index) => request.candidates[index]!.model, request.maxAttempts)
}

/**
 * The first `cap` candidates, in order, except that each model's first is kept while there is room
 * for it: a fallback model of `models` is not crowded out by the providers of the model before it.
 */
function cutKeepingEachModel(indices: number[], modelOf: (index: number) => string, cap: number): number[] {
  if (indices.length <= cap) return indices
  const seen = new Set<string>()
  const firsts = new Set<number>()
  for (const index of indices) {
    const model = modelOf(index)
    if (seen.has(model)) continue
    seen.add(model)
    if (firsts.size < cap) firsts.add(index)
  }
  let room = cap - firsts.size
  return indices.filter((index) => {
    if (firsts.has(index)) return true
    if (room === 0) return false
    room--
    return true
  })
}

/** The refusal of a request none of whose candidates the key's allow-lists leave. */
export function notAllowed(lists: AllowLists, candidates: Pick<Candidate, 'model' | 'provider'>[]): Refusal {
  const models = [...new Set(candidates.map((c) => c.model))]
  const providers = [...new Set(candidates.map((c) => c.provider))]
  return {
    status: 403,
    message: `This key may not use ${models.join(', ')} through ${providers.join(', ')}`,
    headers: {},
    metadata: { allowed_models: lists.allowedModels, allowed_providers: lists.allowedProviders },
  }
}

/** What admitting a request reserves: the worst case of its dearest allowed candidate. */
export function reservationFor(request: AdmissionRequest, allowed: number[]): number {
  return Math.max(0, ...allowed.map((index) => request.candidates[index]?.worstCaseNano ?? 0))
}

export function decideAdmission(key: KeyRecord, current: Ledger, request: AdmissionRequest): Decision {
  const { now } = request
  const policy = key.policy
  const invalid = keyRefusal(key, now)
  if (invalid) return { ok: false, refusal: { ...invalid, headers: {}, metadata: {} } }

  const allowed = allowedCandidates(policy, request)
  if (allowed.length === 0) return { ok: false, refusal: notAllowed(policy, request.candidates) }

  let ledger = rollPeriods(current, now)
  const rpm = policy.requestsPerMinute
  const requests = rpm === null ? null : checkBucket(ledger.requests ?? fullBucket(rpm, now), rpm, 1, now)
  const tpm = policy.tokensPerMinute
  // A prompt larger than the whole minute's allowance waits for a full bucket rather than never passing.
  const reserveTokens = tpm === null ? 0 : Math.min(request.promptTokens, tpm)
  const tokens = tpm === null ? null : checkBucket(ledger.tokens ?? fullBucket(tpm, now), tpm, reserveTokens, now)
  // When both rate limits would let this request through (now, if they do now).
  const ratesPassAt = Math.max(now, requests?.readyAt ?? now, tokens?.readyAt ?? now)

  if (policy.maxConcurrency !== null && ledger.inFlight >= policy.maxConcurrency) {
    // A slot is looked for again in a second; the rate limits may ask for longer.
    const refusal = rateRefusal('max_concurrency', policy.maxConcurrency, 0, Math.max(now + 1000, ratesPassAt), now, `Concurrency limit exceeded: ${policy.maxConcurrency} requests in flight`)
    return { ok: false, refusal }
  }
  if (rpm !== null && requests && !requests.holds) {
    return { ok: false, refusal: rateRefusal('requests_per_minute', rpm, requests.bucket.level, ratesPassAt, now) }
  }
  if (tpm !== null && tokens && !tokens.holds) {
    return { ok: false, refusal: rateRefusal('tokens_per_minute', tpm, tokens.bucket.level, ratesPassAt, now) }
  }

  const reserveNano = reservationFor(request, allowed)
  const remaining = remainingNano(ledger, policy)
  if (remaining !== null && reserveNano > remaining) {
    return {
      ok: false,
      refusal: {
        status: 402,
        message:
          `This request can cost up to ${usdText(reserveNano)} but the key has ${usdText(remaining)} of its ` +
          `${usdText(policy.limitNano ?? 0)} limit left; lower max_tokens or raise the key's limit`,
        headers: {},
        metadata: { limit: (policy.limitNano ?? 0) / 1e9, limit_remaining: remaining / 1e9, required: reserveNano / 1e9 },
      },
    }
  }

  ledger = {
    ...ledger,
    reservedNano: ledger.reservedNano + reserveNano,
    inFlight: ledger.inFlight + 1,
    requests: requests ? charge(requests.bucket, 1) : ledger.requests,
    tokens: tokens ? charge(tokens.bucket, reserveTokens) : ledger.tokens,
  }
  return { ok: true, allowed, reserveNano, reserveTokens, ledger }
}

/** Adds spend to the total and to each period; `onlyIn`, if given, says which periods take it. */
function addSpend(ledger: Ledger, nano: number, onlyIn?: (kind: LimitReset, period: Period) => boolean): Ledger {
  const periods = { ...ledger.periods }
  for (const kind of ['daily', 'weekly', 'monthly'] as const) {
    if (onlyIn && !onlyIn(kind, periods[kind])) continue
    periods[kind] = { ...periods[kind], usedNano: Math.max(0, periods[kind].usedNano + nano) }
  }
  return { ...ledger, totalNano: ledger.totalNano + nano, periods }
}

/**
 * Corrects an expired reservation's full charge to `costNano`. The total always takes the
 * correction; a period only if it is the one the expiry charged: the sweep records when it charged
 * it as its `expiresAt`, so a late alarm past midnight credits the new day it charged, and a day
 * that began since gets nothing back it never held.
 */
function correctExpiry(ledger: Ledger, reservation: Reservation, costNano: number): Ledger {
  const chargedIn = (kind: LimitReset, period: Period) => period.start === periodStart(kind, reservation.expiresAt)
  return addSpend(ledger, costNano - reservation.amountNano, chargedIn)
}

export interface Reservation {
  amountNano: number
  tokens: number
  /** When it was made (ratesSince). */
  createdAt: number
  /** True when the alarm already expired it (and charged it in full). */
  expired: boolean
  /** When it expires; for one the alarm expired, when the alarm charged it (key-tables expireReservations). */
  expiresAt: number
}

/** Replaces a reservation with the real cost; tokens used beyond the reservation are charged to the bucket. */
export function settleLedger(current: Ledger, reservation: Reservation, costNano: number, tokensUsed: number, now: number): Ledger {
  let ledger = rollPeriods(current, now)
  if (reservation.expired) {
    // The expiry charged the whole reservation: correct it to the real cost.
    ledger = correctExpiry(ledger, reservation, costNano)
  } else {
    ledger = addSpend(
      { ...ledger, reservedNano: ledger.reservedNano - reservation.amountNano, inFlight: ledger.inFlight - 1 },
      costNano,
    )
  }
  // Tokens used beyond the reservation are charged; fewer are refunded, unless the bucket it took them from has been replaced.
  const extraTokens = tokensUsed - reservation.tokens
  const counted = extraTokens > 0 || (extraTokens < 0 && refundsRates(ledger, reservation))
  return { ...ledger, tokens: ledger.tokens && counted ? charge(ledger.tokens, extraTokens) : ledger.tokens }
}

/**
 * The ledger after the key's rate limits changed from `before` to `after` (bucket.ts rescale), so
 * a raised limit bites on the very next request too. Token counts draw on requests_per_minute
 * (./counting).
 */
export function withRates(ledger: Ledger, before: Policy, after: Policy, now: number): Ledger {
  return {
    ...ledger,
    requests: rescale(ledger.requests, before.requestsPerMinute, after.requestsPerMinute, now),
    tokens: rescale(ledger.tokens, before.tokensPerMinute, after.tokensPerMinute, now),
    counts: rescale(ledger.counts ?? null, before.requestsPerMinute, after.requestsPerMinute, now),
    ratesSince: now,
  }
}

/** Whether the rate buckets a reservation took from are the ones in force (Ledger.ratesSince). */
function refundsRates(ledger: Ledger, reservation: Reservation): boolean {
  return ledger.ratesSince === undefined || reservation.createdAt >= ledger.ratesSince
}

/**
 * An unused ticket given back: its reservation is freed as if it cost nothing, and the request
 * and tokens it took from the rate buckets are refunded (the request it stood for never happened).
 */
export function releaseLedger(current: Ledger, reservation: Reservation, now: number): Ledger {
  const ledger = settleLedger(current, reservation, 0, 0, now)
  return { ...ledger, requests: ledger.requests && refundsRates(ledger, reservation) ? charge(ledger.requests, -1) : ledger.requests }
}

export interface Tickets {
  /** How many of the offered tickets are granted (0 to the number offered). */
  granted: number
  reserveNano: number
  reserveTokens: number
  /** The ledger with the granted tickets reserved. */
  ledger: Ledger
}

/** Tickets leave at least this many times their number still admissible (see decideTickets). */
export const TICKET_HEADROOM = 4

/**
 * Tickets: admissions of `request` decided ahead, for requests that have not arrived yet (see
 * docs/quotas.md, "Admission leases"). Each is decided exactly as an admission, and they are
 * granted only while TICKET_HEADROOM times as many again would still be admitted: tickets never
 * hold more than a fifth of what a key has left of any limit (money, rate, concurrency), and a key
 * near one gets none and keeps per-request admission. A key whose record refuses it at `leaseEnd`
 * (it expires before the tickets would) gets none either.
 */
export function decideTickets(key: KeyRecord, current: Ledger, request: AdmissionRequest, offered: number, leaseEnd: number): Tickets {
  const none: Tickets = { granted: 0, reserveNano: 0, reserveTokens: 0, ledger: current }
  if (offered <= 0 || keyRefusal(key, leaseEnd)) return none
  const ledgers: Ledger[] = [current]
  let reserve = { reserveNano: 0, reserveTokens: 0 }
  while (ledgers.length <= (TICKET_HEADROOM + 1) * offered) {
    const decision = decideAdmission(key, ledgers[ledgers.length - 1]!, request)
    if (!decision.ok) break
    reserve = { reserveNano: decision.reserveNano, reserveTokens: decision.reserveTokens }
    ledgers.push(decision.ledger)
  }
  const granted = Math.floor((ledgers.length - 1) / (TICKET_HEADROOM + 1))
  return granted === 0 ? none : { granted, ...reserve, ledger: ledgers[granted]! }
}

/** A reservation whose settlement never came is charged in full: spend never escapes the ledger. */
export function expireInLedger(current: Ledger, reservation: Reservation, now: number): Ledger {
  const ledger = rollPeriods(current, now)
  return addSpend(
    { ...ledger, reservedNano: ledger.reservedNano - reservation.amountNano, inFlight: ledger.inFlight - 1 },
    reservation.amountNano,
  )
}

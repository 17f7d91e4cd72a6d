import { sleep, type Clock } from '../clock'
import { configOf } from '../config'
import type { Env } from '../env'
import { GatewayError } from '../errors'
import { keyObject } from '../tenancy/directory'
import type { Admission, AdmissionItem } from '../tenancy/protocol'
import type { Refusal } from '../tenancy/ledger'
import type { WaitUntil } from './context'
import { deliverSettlement, settlementsDelivered, settlementsUndelivered, takeSettlements } from './outbox'
import { countAdmission, holdTickets, lapse, sparesWanted, takeTicket, type Lot } from './tickets'

/**
 * Admission calls to a key's Durable Object, coalesced per key in this isolate. A request whose
 * key has no call in flight sends its own at once (nothing waits). One that finds a call in flight
 * queues; the next call, sent by whichever queued request first sees that call answered, carries
 * what has queued by then (up to MAX_BATCH). Under load a key's object gets one call per batch
 * instead of one per request (each call has a fixed cost, about a third of a millisecond of CPU
 * under Miniflare, and is billed), which lets one hot key go past what one object serves call by
 * call. The object decides a call's admissions in the order it lists them, exactly as it would
 * decide them one by one. (Two calls in flight before queueing was measured too: no better at
 * 300 req/s, worse at saturation.)
 *
 * Requests share only data here. A promise of one request cannot be settled from another's
 * context in Workers, so a queued request polls for its answer on its own timers. Every call, and
 * every wait for one, is kept alive with waitUntil: a request whose client hangs up after its
 * admission was sent still gets its answer and is settled like any other. One that hangs up while
 * still queued leaves the queue and is never admitted.
 *
 * A call's own request offers spare ids when this isolate sees the key busy; the tickets granted
 * for them (./tickets) serve later requests, and queued ones, with no call, and what is left of
 * them when the lease ends is given back through the outbox.
 */

/** What a request learns: the endpoints it may use and the reservation it settles (its own id, or a ticket's). */
export type RequestAdmission = { ok: true; allowed: number[]; reservation: string } | { ok: false; refusal: Refusal }

type Answer = { ok: true; admission: Admission } | { ok: false; error: unknown }

interface KeyQueue {
  /** When the call in flight was sent (it names the call); null when none is. */
  busySince: number | null
  queued: AdmissionItem[]
  /** Answers for queued requests that have not looked yet, with when their call was sent. */
  answers: Map<string, { answer: Answer; sentAt: number }>
}

const queues = new Map<string, KeyQueue>()

/** Admissions per call at most. */
const MAX_BATCH = 32
/** A queued request looks for its answer after 1 ms, then backs off to this. */
const MAX_POLL_MS = 8
/** A call in flight longer than this is presumed lost (its request's context died): the key moves on without it. */
const STALE_CALL_MS = 30_000

/** The request asking: its bindings, its waitUntil, its client's hang-up, and the gateway's clock. */
export interface Asker {
  env: Env
  waitUntil: WaitUntil
  clientGone: AbortSignal
  clock: Clock
}

export function requestAdmission(asker: Asker, keyHash: string, item: AdmissionItem): Promise<RequestAdmission> {
  const leaseMs = configOf(asker.env).LEASE_MS
  if (leaseMs > 0) {
    countAdmission(keyHash, item.request.now, leaseMs)
    const ticketed = withTicket(asker, keyHash, item)
    if (ticketed) return Promise.resolve(ticketed)
  }
  let queue = queues.get(keyHash)
  if (!queue) queues.set(keyHash, (queue = { busySince: null, queued: [], answers: new Map() }))
  if (queue.busySince === null) return lead(asker, keyHash, queue, item)
  queue.queued.push(item)
  const waiting = awaitTurn(asker, keyHash, queue, item)
  asker.waitUntil(waiting.catch(() => {}))
  return waiting
}

/** The request's admission by a ticket this isolate holds, or null if none covers it. */
function withTicket(asker: Asker, keyHash: string, item: AdmissionItem): RequestAdmission | null {
  const ticket = takeTicket(keyHash, item.request, asker.clock())
  return ticket && { ok: true, allowed: ticket.allowed, reservation: ticket.id }
}

/** The request's view of the object's answer for it. */
function asRequestAdmission(item: AdmissionItem, admission: Admission): RequestAdmission {
  return admission.ok ? { ok: true, allowed: admission.allowed, reservation: item.id } : admission
}

async function awaitTurn(asker: Asker, keyHash: string, queue: KeyQueue, item: AdmissionItem): Promise<RequestAdmission> {
  const queuedAt = Date.now()
  for (let pollMs = 1; ; pollMs = Math.min(pollMs * 2, MAX_POLL_MS)) {
    await sleep(pollMs)
    const found = queue.answers.get(item.id)
    if (found) {
      queue.answers.delete(item.id)
      forgetIfIdle(keyHash, queue)
      if (found.answer.ok) return asRequestAdmission(item, found.answer.admission)
      throw found.answer.error
    }
    const position = queue.queued.indexOf(item)
    if (position < 0) {
      // Carried by the call in flight: its answer is coming, unless that call's context died
      // (and with it, maybe, an admission the object made): then the request gives up, and releases it.
      if (Date.now() - queuedAt > 2 * STALE_CALL_MS) {
        asker.waitUntil(giveBack(asker.env, keyHash, [item.id], item.request.now))
        throw new Error('admission call lost')
      }
      continue
    }
    if (asker.clientGone.aborted) {
      queue.queued.splice(position, 1)
      forgetIfIdle(keyHash, queue)
      // Nobody reads this answer; it only ends the request without a reservation.
      throw new GatewayError(408, 'timeout', 'The client left while its request waited for admission')
    }
    // Still queued: a ticket granted meanwhile serves it with no call.
    const ticketed = withTicket(asker, keyHash, item)
    if (ticketed) {
      queue.queued.splice(position, 1)
      forgetIfIdle(keyHash, queue)
      return ticketed
    }
    if (queue.busySince !== null && Date.now() - queue.busySince > STALE_CALL_MS) queue.busySince = null
    if (queue.busySince === null) {
      queue.queued.splice(position, 1)
      return lead(asker, keyHash, queue, item)
    }
  }
}

/**
 * A call to the key's object that failed (the object overloaded, or moving in a deploy) is a 503
 * the client may retry, not an internal error; what went wrong is logged (as `call`), not shown.
 */
export function keyObjectUnavailable(thrown: unknown, call: string): GatewayError {
  if (thrown instanceof GatewayError) return thrown
  console.error(`${call} failed`, thrown instanceof Error ? thrown.message : String(thrown))
  return new GatewayError(503, 'server', 'The key’s limits could not be checked just now; retry shortly', {}, { 'retry-after': '1' })
}

/** A call to the key's object whose failure (reaching the object included) is keyObjectUnavailable's 503, not a 500. */
export async function keyCall<P extends Promise<unknown>>(call: () => P, name: string): Promise<Awaited<P>> {
  try {
    return await call()
  } catch (thrown) {
    throw keyObjectUnavailable(thrown, name)
  }
}

/** Sends one call for `own` (with spares, if the key is busy) and up to MAX_BATCH - 1 queued admissions. */
function lead(asker: Asker, keyHash: string, queue: KeyQueue, own: AdmissionItem): Promise<RequestAdmission> {
  const { env, waitUntil } = asker
  const sentAt = Date.now()
  queue.busySince = sentAt
  const followers = queue.queued.splice(0, MAX_BATCH - 1)
  const carried = takeSettlements(keyHash)
  const { LEASE_MS: leaseMs, LEASE_MAX_TICKETS: maxTickets } = configOf(env)
  // A request that queued for half a lease would get tickets whose lease is mostly over already.
  const fresh = asker.clock() - own.request.now < leaseMs / 2
  const spares = fresh ? sparesWanted(keyHash, own.request.now, leaseMs, maxTickets) : []
  const answer = (item: AdmissionItem, result: Answer) => queue.answers.set(item.id, { answer: result, sentAt })
  // A call that throws as it is made (no object to call) fails as a lost call does: the queue is released.
  let sent: Promise<Admission[]>
  try {
    sent = keyObject(env, keyHash).admit([spares.length > 0 ? { ...own, spares } : own, ...followers], carried)
  } catch (thrown) {
    sent = Promise.reject(thrown)
  }
  const call = sent
    .then(
      (admissions) => {
        settlementsDelivered(keyHash, carried)
        followers.forEach((follower, index) => {
          const admission = admissions[index + 1]
          answer(follower, admission ? { ok: true, admission } : { ok: false, error: new Error('admission missing from the batch') })
        })
        const mine = admissions[0]
        if (!mine) throw new Error('admission missing from the batch')
        if (mine.ok && mine.tickets && mine.tickets.ids.length > 0) {
          const lot = holdTickets(keyHash, own.request, mine.tickets)
          waitUntil(giveBackWhenLapsed(asker, keyHash, lot))
        }
        return asRequestAdmission(own, mine)
      },
      (thrown: unknown) => {
        settlementsUndelivered(keyHash, carried)
        const error = keyObjectUnavailable(thrown, 'admission call')
        for (const follower of followers) answer(follower, { ok: false, error })
        // The object may have admitted the call before its answer was lost. None of these requests
        // will run: release their reservations, and every spare it may have granted as a ticket.
        // (Releasing an id the object never reserved does nothing.)
        waitUntil(giveBack(env, keyHash, [own.id, ...followers.map((follower) => follower.id), ...spares], own.request.now))
        throw error
      },
    )
    .finally(() => {
      // A call presumed lost may still answer: it must not release the key from a newer call.
      if (queue.busySince === sentAt) queue.busySince = null
      // Answers nobody came for (their request died) go once they are stale.
      for (const [id, stale] of queue.answers) if (Date.now() - stale.sentAt > STALE_CALL_MS) queue.answers.delete(id)
      forgetIfIdle(keyHash, queue)
    })
  waitUntil(call.catch(() => {}))
  return call
}

/** When the lease ends, gives back the lot's tickets that no request took. */
async function giveBackWhenLapsed(asker: Asker, keyHash: string, lot: Lot): Promise<void> {
  await sleep(Math.max(0, lot.expiresAt - asker.clock()))
  await giveBack(asker.env, keyHash, lapse(keyHash, lot), lot.expiresAt)
}

/**
 * Releases reservations of requests that will never run, and unused tickets, through the outbox
 * (carried by the key's next admission, or sent after the linger): a settlement with no record
 * frees the reservation and refunds its rate tokens. One that never arrives expires by alarm,
 * charged in full. Releasing an id the object never reserved does nothing.
 */
async function giveBack(env: Env, keyHash: string, ids: string[], now: number): Promise<void> {
  const lingerMs = configOf(env).SETTLE_LINGER_MS
  const release = (id: string) => ({ id, now, costNano: 0, tokens: 0, record: null })
  await Promise.all(ids.map((id) => deliverSettlement(env, keyHash, release(id), lingerMs)))
}

/** Drops the key's entry once nothing is in flight, queued or waiting to be picked up. */
function forgetIfIdle(keyHash: string, queue: KeyQueue): void {
  const idle = queue.busySince === null && queue.queued.length === 0 && queue.answers.size === 0
  if (idle && queues.get(keyHash) === queue) queues.delete(keyHash)
}

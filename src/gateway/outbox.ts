import { sleep, STALL_MS } from '../clock'
import type { Env } from '../env'
import { keyObject } from '../tenancy/directory'
import type { Settlement } from '../tenancy/protocol'

/**
 * Settlements on their way to their key's Durable Object. A finished request's settlement waits
 * here: the key's next admission from this isolate carries it (no call of its own, which on a busy
 * key halves the object's calls), or the key's flush sends it. One flush per key and isolate at a
 * time: the request that finds none (or finds it past its turn, FLUSH_TURN_MS, or stalled) starts
 * it and keeps it alive in its waitUntil. Each round waits the linger the key's latest settlement
 * asked for, then sends what has waited that long in as few calls as it can; the flush ends when
 * nothing waits. A busy key's requests hold no timer of their own. A call that fails leaves its
 * settlements waiting, each sent again after a growing pause (RETRY_AFTER_MS: an object restarting
 * for a deploy, say, is back within seconds) by an admission or the flush, and given up only when
 * the call after its last pause fails too. A flush ends FLUSH_LIFE_MS after it started, so that
 * its request's waitUntil ends well within the runtime's 30 s; what still waits then goes with
 * the key's next settlement's flush. Settling is idempotent in the object, so one sent twice (its
 * carrier failed, or was slow) is harmless; one that never arrives leaves its reservation to
 * expire by alarm, charged in full, so spend is never lost.
 */

interface Waiting {
  settlement: Settlement
  /** On its way inside an admission call that has not answered yet. */
  carried: boolean
  /** When it was queued (real time, as timers run). */
  queuedAt: number
  /** Flush rounds it has waited on its carrier. */
  patience: number
  /** Calls of the flush that failed to deliver it. */
  failures: number
  /** After a failure, not sent again before this (real time). */
  retryAt: number
}

/** Per key hash, per settlement id. Isolate memory: data only, no I/O objects. */
const outbox = new Map<string, Map<string, Waiting>>()
/** A key's running flush: each round waits the linger its latest settlement asked for. */
interface Flush {
  lingerMs: number
  /** The linger of the round it is sleeping (the latest settlement may have asked for another since). */
  sleepingMs: number
  startedAt: number
  /** When it last woke or finished a call: one idle past its linger plus STALL_MS is presumed dead, and replaced. */
  beat: number
}
/** Per key hash, the flush whose turn it is. */
const flushes = new Map<string, Flush>()

/** An admission carries at most this many (bounds its size). */
const MAX_CARRIED = 64
/** A flush sends at most this many per call. */
const MAX_SENT = 256
/** Flush rounds a carried settlement waits before the flush sends it anyway. */
const CARRIED_PATIENCE = 2
/** The pause before a settlement is sent again after its n-th failed call; it is given up after one more. */
export const RETRY_AFTER_MS = [250, 1_000, 3_000, 8_000]
/**
 * A flush older than this hands over to the next settlement's request and ends at its next round:
 * a busy key's flush would otherwise run for as long as the traffic, past the 30 s the runtime
 * allows a request's waitUntil, and die with nobody to take over.
 */
export const FLUSH_TURN_MS = 5_000
/**
 * A flush ends this long after it started, even with settlements still waiting out a pause: its
 * request's waitUntil ends 30 s after the response. A settlement that joined within the flush's
 * turn (FLUSH_TURN_MS) still gets its every pause (12.25 s) and calls taking 7 s in all.
 */
export const FLUSH_LIFE_MS = 25_000

/** The key's waiting settlements (not those pausing after a failure), marked as carried, for an admission call to take along. */
export function takeSettlements(keyHash: string, limit = MAX_CARRIED): Settlement[] {
  const waiting = outbox.get(keyHash)
  if (!waiting) return []
  const taken: Settlement[] = []
  const now = Date.now()
  for (const entry of waiting.values()) {
    if (taken.length === limit) break
    if (entry.carried || entry.retryAt > now) continue
    carry(entry)
    taken.push(entry.settlement)
  }
  return taken
}

/** On its way in a call: the flush waits CARRIED_PATIENCE rounds for that call before sending it again. */
function carry(entry: Waiting): void {
  entry.carried = true
  entry.patience = 0
}

/** The object has applied these: forget them. */
export function settlementsDelivered(keyHash: string, settlements: Settlement[]): void {
  const waiting = outbox.get(keyHash)
  if (!waiting) return
  for (const settlement of settlements) waiting.delete(settlement.id)
  if (waiting.size === 0) outbox.delete(keyHash)
}

/** Their carrier failed: they wait again, for the key's flush (or, once it has ended, the next settlement's). */
export function settlementsUndelivered(keyHash: string, settlements: Settlement[]): void {
  const waiting = outbox.get(keyHash)
  for (const settlement of settlements) {
    const entry = waiting?.get(settlement.id)
    if (entry) entry.carried = false
  }
}

/**
 * Queues a settlement. Returns what the request's waitUntil must keep alive: the key's flush if
 * this call started it (it resolves once nothing of the key waits), otherwise nothing.
 */
export function deliverSettlement(env: Env, keyHash: string, settlement: Settlement, lingerMs: number): Promise<void> {
  let waiting = outbox.get(keyHash)
  if (!waiting) outbox.set(keyHash, (waiting = new Map()))
  const now = Date.now()
  // The same id twice (a reservation given back by two paths) keeps the first, with its failures.
  if (!waiting.has(settlement.id)) waiting.set(settlement.id, { settlement, carried: false, queuedAt: now, patience: 0, failures: 0, retryAt: 0 })
  const running = flushes.get(keyHash)
  if (running && now - running.startedAt < FLUSH_TURN_MS && now - running.beat <= running.sleepingMs + STALL_MS) {
    running.lingerMs = lingerMs
    return Promise.resolve()
  }
  // A flush it replaces ends at its next round (if it is alive at all); settling twice is harmless.
  const mine: Flush = { lingerMs, sleepingMs: lingerMs, startedAt: now, beat: now }
  flushes.set(keyHash, mine)
  return flush(env, keyHash, mine)
}

/** Rounds until nothing of the key waits, or until a newer flush has taken over. */
async function flush(env: Env, keyHash: string, mine: Flush): Promise<void> {
  try {
    while (outbox.has(keyHash) && Date.now() - mine.startedAt < FLUSH_LIFE_MS) {
      const { lingerMs } = mine
      mine.sleepingMs = lingerMs
      await sleep(lingerMs)
      if (flushes.get(keyHash) !== mine) return
      mine.beat = Date.now()
      await send(env, keyHash, dueNow(keyHash, mine.beat - lingerMs, mine.beat), mine)
    }
  } finally {
    // At once, in the same turn as the last check: a settlement queued later must find no flush.
    if (flushes.get(keyHash) === mine) flushes.delete(keyHash)
  }
}

/** Sends settlements in calls of at most MAX_SENT; a failed call's wait for a later round. */
async function send(env: Env, keyHash: string, due: Settlement[], mine: Flush): Promise<void> {
  for (let start = 0; start < due.length; start += MAX_SENT) {
    const batch = due.slice(start, start + MAX_SENT)
    try {
      await keyObject(env, keyHash).settle(batch)
      settlementsDelivered(keyHash, batch)
    } catch (error) {
      failedToSend(keyHash, batch, error)
    } finally {
      mine.beat = Date.now()
    }
  }
}

/** Schedules each settlement of a failed call to be sent again, or gives it up (the alarm charges its reservation). */
function failedToSend(keyHash: string, batch: Settlement[], error: unknown): void {
  const waiting = outbox.get(keyHash)
  const now = Date.now()
  const givenUp: Settlement[] = []
  for (const settlement of batch) {
    const entry = waiting?.get(settlement.id)
    if (!entry) continue
    const pause = RETRY_AFTER_MS[entry.failures++]
    if (pause === undefined) givenUp.push(settlement)
    else Object.assign(entry, { carried: false, retryAt: now + pause })
  }
  if (givenUp.length === 0) return
  settlementsDelivered(keyHash, givenUp)
  const reason = error instanceof Error ? error.message : String(error)
  console.error(`${givenUp.length} settlements failed ${RETRY_AFTER_MS.length + 1} times; the key's alarm charges their reservations in full: ${reason}`)
}

/**
 * What the flush sends on waking: what has waited its linger (queued by `queuedBy`) and any pause
 * after a failure without an admission carrying it, and what has waited on its carrier for more
 * than CARRIED_PATIENCE rounds.
 * The rest waits for the next round: a settlement queued just before the round is left for the
 * key's admissions to carry. Marked as carried, so that no admission takes them meanwhile.
 */
function dueNow(keyHash: string, queuedBy: number, now: number): Settlement[] {
  const due: Settlement[] = []
  for (const entry of outbox.get(keyHash)?.values() ?? []) {
    if (entry.carried ? ++entry.patience <= CARRIED_PATIENCE : entry.queuedAt > queuedBy || entry.retryAt > now) continue
    carry(entry)
    due.push(entry.settlement)
  }
  return due
}

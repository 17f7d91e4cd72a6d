import { sleep } from '../clock'
import type { Env } from '../env'
import { keyObject } from '../tenancy/directory'
import type { Settlement } from '../tenancy/protocol'

/**
 * Settlements on their way to their key's Durable Object. A finished request's settlement waits
 * here for up to `lingerMs`: the key's next admission from this isolate carries it (no call of its
 * own, which on a busy key halves the object's calls), or, if none comes, the request sends every
 * waiting settlement of the key in one call. Settling is idempotent in the object, so one sent
 * twice (its carrier failed, or was slow) is harmless; one that never arrives leaves its
 * reservation to expire by alarm, charged in full, so spend is never lost.
 */

interface Waiting {
  settlement: Settlement
  /** On its way inside an admission call that has not answered yet. */
  carried: boolean
}

/** Per key hash, per settlement id. Isolate memory: data only, no I/O objects. */
const outbox = new Map<string, Map<string, Waiting>>()

/** An admission carries at most this many (bounds its size). */
const MAX_CARRIED = 64
/** Lingers a carried settlement gets before its own request sends it anyway. */
const CARRIED_PATIENCE = 2

/** The key's waiting settlements, marked as carried, for an admission call to take along. */
export function takeSettlements(keyHash: string, limit = MAX_CARRIED): Settlement[] {
  const waiting = outbox.get(keyHash)
  if (!waiting) return []
  const taken: Settlement[] = []
  for (const entry of waiting.values()) {
    if (taken.length === limit) break
    if (entry.carried) continue
    entry.carried = true
    taken.push(entry.settlement)
  }
  return taken
}

/** The object has applied these: forget them. */
export function settlementsDelivered(keyHash: string, settlements: Settlement[]): void {
  const waiting = outbox.get(keyHash)
  if (!waiting) return
  for (const settlement of settlements) waiting.delete(settlement.id)
  if (waiting.size === 0) outbox.delete(keyHash)
}

/** Their carrier failed: they wait again (their own requests will send them). */
export function settlementsUndelivered(keyHash: string, settlements: Settlement[]): void {
  const waiting = outbox.get(keyHash)
  for (const settlement of settlements) {
    const entry = waiting?.get(settlement.id)
    if (entry) entry.carried = false
  }
}

/**
 * Queues a settlement and resolves once it has been delivered (by an admission or by this call),
 * or given up after one retry. For the request's waitUntil.
 */
export async function deliverSettlement(env: Env, keyHash: string, settlement: Settlement, lingerMs: number): Promise<void> {
  let waiting = outbox.get(keyHash)
  if (!waiting) outbox.set(keyHash, (waiting = new Map()))
  waiting.set(settlement.id, { settlement, carried: false })
  for (let round = 0; ; round++) {
    await sleep(lingerMs)
    const entry = outbox.get(keyHash)?.get(settlement.id)
    if (!entry) return
    if (entry.carried && round < CARRIED_PATIENCE) continue
    const batch = [...(entry.carried ? [entry.settlement] : []), ...takeSettlements(keyHash)]
    try {
      await keyObject(env, keyHash)
        .settle(batch)
        .catch(() => keyObject(env, keyHash).settle(batch))
    } finally {
      // Delivered, or failed twice: the alarm charges what never arrived.
      settlementsDelivered(keyHash, batch)
    }
    return
  }
}

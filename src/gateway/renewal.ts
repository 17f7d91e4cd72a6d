import { configOf, type Config } from '../config'
import { keyObject } from '../tenancy/directory'
import type { Asker } from './admissions'

/**
 * Keeps a running request's reservation from expiring. A stream has no total timeout, so it may
 * outlive RESERVATION_TTL_MS; the key's alarm would then charge its reservation in full and free
 * its concurrency slot, letting a second request in beside it. So every third of the TTL, until
 * `running` settles, the key's object is asked to move the expiry a TTL on (tenancy/key-do.ts
 * `renew`). A renewal that fails is tried again at the next beat; one that arrives after the
 * settlement does nothing. Nothing of this runs before the first beat, so a request shorter than
 * a third of the TTL costs one timer.
 */
export function keepReserved(asker: Pick<Asker, 'env' | 'waitUntil' | 'clock'>, keyHash: string, reservation: string, running: Promise<unknown>): void {
  const { env, waitUntil, clock } = asker
  const everyMs = Math.max(1, Math.floor(configOf(env).RESERVATION_TTL_MS / 3))
  const beat = setInterval(() => waitUntil(keyObject(env, keyHash).renew([reservation], clock()).catch(() => {})), everyMs)
  const stop = () => clearInterval(beat)
  running.then(stop, stop)
}

/**
 * Whether a non-streaming request can run past its reservation's TTL: its last attempt may start
 * up to ATTEMPT_DEADLINE_MS in and take TIMEOUT_NON_STREAMING_MS. With the defaults (2 and 10
 * minutes against 15) it cannot, and such a request sets no timer.
 */
export function mayOutlastReservation(config: Pick<Config, 'ATTEMPT_DEADLINE_MS' | 'TIMEOUT_NON_STREAMING_MS' | 'RESERVATION_TTL_MS'>): boolean {
  return config.ATTEMPT_DEADLINE_MS + config.TIMEOUT_NON_STREAMING_MS >= config.RESERVATION_TTL_MS
}

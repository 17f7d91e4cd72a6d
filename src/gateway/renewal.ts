import { configOf, type Config } from '../config'
import { keyObject } from '../tenancy/directory'
import type { Asker } from './admissions'
import { FLUSH_LIFE_MS } from './outbox'

/**
 * Keeps a running request's reservation from expiring. A stream has no total timeout, so it may
 * outlive RESERVATION_TTL_MS; the key's alarm would then charge its reservation in full and free
 * its concurrency slot, letting a second request in beside it. So every third of the TTL, until
 * `running` settles, the key's object is asked to move the expiry a TTL on (tenancy/key-do.ts
 * `renew`). A renewal that fails is tried again at the next beat; one that arrives after the
 * settlement does nothing. Nothing of this runs before the first beat, so a request shorter than
 * a third of the TTL costs one timer.
 *
 * `progress`, when given, counts how far the request got (relay.ts Sink.progress): a beat that
 * finds it unchanged renews nothing (a stream whose client stopped reading waits on its writes,
 * with no timeout of its own), so such a request's reservation expires as an abandoned one's
 * does, and a beat that finds it moving again renews it again.
 */
export function keepReserved(
  asker: Pick<Asker, 'env' | 'waitUntil' | 'clock'>,
  keyHash: string,
  reservation: string,
  running: Promise<unknown>,
  progress?: () => number,
): void {
  const { env, waitUntil, clock } = asker
  const everyMs = Math.max(1, Math.floor(configOf(env).RESERVATION_TTL_MS / 3))
  let seen = progress?.()
  const beat = setInterval(() => {
    if (progress) {
      const now = progress()
      if (now === seen) return
      seen = now
    }
    waitUntil(keyObject(env, keyHash).renew([reservation], clock()).catch(() => {}))
  }, everyMs)
  const stop = () => clearInterval(beat)
  running.then(stop, stop)
}

/**
 * Whether a non-streaming request can run past its reservation's TTL: its last attempt may start
 * up to ATTEMPT_DEADLINE_MS in and take TIMEOUT_NON_STREAMING_MS; a ticket's reservation was made
 * up to LEASE_MS before the request, and the flush carrying its settlement ends within
 * FLUSH_LIFE_MS (./outbox). With the defaults (2 and 10 minutes, 1 s and 25 s, against 15
 * minutes) it cannot, and such a request sets no timer.
 */
export function mayOutlastReservation(config: Pick<Config, 'ATTEMPT_DEADLINE_MS' | 'TIMEOUT_NON_STREAMING_MS' | 'RESERVATION_TTL_MS' | 'LEASE_MS'>): boolean {
  return config.ATTEMPT_DEADLINE_MS + config.TIMEOUT_NON_STREAMING_MS + config.LEASE_MS + FLUSH_LIFE_MS >= config.RESERVATION_TTL_MS
}

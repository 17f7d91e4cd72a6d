import { charge, checkBucket, fullBucket } from './bucket'
import { keyRefusal, type KeyRecord } from './keys'
import { rateRefusal, type Ledger, type Refusal } from './ledger'

/**
 * Token counts (POST /v1/messages/count_tokens) are free, so nothing is reserved or charged for
 * them, but each one is a call on the operator's upstream account. A key with a
 * requests_per_minute limit therefore counts at most that many times a minute, from a bucket of
 * its own: counting does not eat into the key's inference requests, as at Anthropic, whose token
 * counting has rate limits apart from message creation. A key without the limit counts freely. Pure.
 */

export type CountDecision = { ok: true; ledger: Ledger } | { ok: false; refusal: Refusal }

export function decideCount(key: KeyRecord, ledger: Ledger, now: number): CountDecision {
  const invalid = keyRefusal(key, now)
  if (invalid) return { ok: false, refusal: { ...invalid, headers: {}, metadata: {} } }
  const rpm = key.policy.requestsPerMinute
  if (rpm === null) return { ok: true, ledger }
  const counts = checkBucket(ledger.counts ?? fullBucket(rpm, now), rpm, 1, now)
  if (!counts.holds) {
    const message = `Rate limit exceeded: token counts (${rpm} per minute, the key's requests_per_minute, counted apart from its requests)`
    return { ok: false, refusal: rateRefusal('requests_per_minute', rpm, counts.bucket.level, counts.readyAt, now, message) }
  }
  return { ok: true, ledger: { ...ledger, counts: charge(counts.bucket, 1) } }
}

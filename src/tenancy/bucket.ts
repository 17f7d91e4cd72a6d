/**
 * A token bucket for per-minute rate limits. It starts full (`capacity`), refills continuously at
 * `capacity` per minute, and never holds more than `capacity`. Taking more than is left is refused;
 * `charge` may push it below zero (usage learnt after the fact), which delays later admissions. Pure.
 */
export interface Bucket {
  level: number
  updatedAt: number
}

const MINUTE_MS = 60_000

export function fullBucket(capacity: number, now: number): Bucket {
  return { level: capacity, updatedAt: now }
}

export function refill(bucket: Bucket, capacity: number, now: number): Bucket {
  const elapsed = Math.max(0, now - bucket.updatedAt)
  return { level: Math.min(capacity, bucket.level + (elapsed * capacity) / MINUTE_MS), updatedAt: Math.max(now, bucket.updatedAt) }
}

/** Milliseconds after `bucket.updatedAt` until the bucket holds `amount` again (0 if it does now). */
function waitFor(bucket: Bucket, capacity: number, amount: number): number {
  const missing = amount - bucket.level
  if (missing <= 0) return 0
  let ms = Math.ceil((missing * MINUTE_MS) / capacity)
  // The refill's floating point may fall a hair short at the computed instant: the wait names one that holds.
  while (refill(bucket, capacity, bucket.updatedAt + ms).level < amount) ms++
  return ms
}

/** A rate limit at `now`: its bucket refilled, whether that holds `amount`, and when it will. */
export interface BucketCheck {
  bucket: Bucket
  holds: boolean
  /** Unix ms, reckoned from the bucket as stored: a later admission refills from it too, and finds the same. */
  readyAt: number
}

export function checkBucket(stored: Bucket, capacity: number, amount: number, now: number): BucketCheck {
  const bucket = refill(stored, capacity, now)
  return { bucket, holds: bucket.level >= amount, readyAt: stored.updatedAt + waitFor(stored, capacity, amount) }
}

export function charge(bucket: Bucket, amount: number): Bucket {
  return { level: bucket.level - amount, updatedAt: bucket.updatedAt }
}

/**
 * The bucket under a changed limit. A raised one grows by the difference: what was used of the old
 * limit in the last minute stays used (raised from 1 to 60 a minute with the one request made, 59
 * are left, not the old bucket's nothing refilling at the new rate). A lowered one keeps what it
 * held, up to the new limit; what it lent out as tickets (whose requests may never run) is not
 * taken from it again. Null (the limit removed, or none before) starts full at the next admission.
 */
export function rescale(stored: Bucket | null, from: number | null, to: number | null, now: number): Bucket | null {
  if (stored === null || from === null || to === null) return null
  const bucket = refill(stored, from, now)
  return { level: Math.min(to, bucket.level + Math.max(0, to - from)), updatedAt: bucket.updatedAt }
}

/**
 * The longer memory behind the live endpoint stats (OpenRouter's uptime and percentile fields):
 * per-minute success/failure counts for a day, and a ring of recent latency and throughput
 * samples. Bounded: at most MAX_MINUTE_BUCKETS minutes and SAMPLE_RING samples per series. Pure.
 */

export const MINUTE_MS = 60_000
/** One day of minute buckets: the longest uptime window reported. */
export const MAX_MINUTE_BUCKETS = 1440
/** Recent TTFB and throughput samples kept for percentiles. */
export const SAMPLE_RING = 200

/** [minute (Unix ms / 60 000), successes, failures]; 429s are left out of uptime. */
export type MinuteBucket = [minute: number, ok: number, failed: number]
/** [Unix ms, value] */
export type Sample = [at: number, value: number]

export interface Percentiles {
  p50: number
  p75: number
  p90: number
  p99: number
}

/** Counts one judged attempt in its minute, in order even when it arrives late; drops minutes older than a day. */
export function countInMinutes(minutes: MinuteBucket[], at: number, failed: boolean): void {
  const minute = Math.floor(at / MINUTE_MS)
  const newest = Math.max(minutes.at(-1)?.[0] ?? minute, minute)
  if (minute <= newest - MAX_MINUTE_BUCKETS) return
  let index = minutes.length - 1
  while (index >= 0 && minutes[index]![0] > minute) index -= 1
  const existing = index >= 0 && minutes[index]![0] === minute ? minutes[index]! : undefined
  if (existing) {
    existing[failed ? 2 : 1] += 1
  } else {
    minutes.splice(index + 1, 0, [minute, failed ? 0 : 1, failed ? 1 : 0])
  }
  let stale = 0
  while (stale < minutes.length && minutes[stale]![0] <= newest - MAX_MINUTE_BUCKETS) stale += 1
  if (stale > 0) minutes.splice(0, stale)
}

/** Successes / judged attempts × 100 over the last `span` minutes (the current one included), or null with none. */
export function uptime(minutes: readonly MinuteBucket[], now: number, span: number): number | null {
  const first = Math.floor(now / MINUTE_MS) - span + 1
  let ok = 0
  let failed = 0
  for (const [minute, good, bad] of minutes) {
    if (minute < first) continue
    ok += good
    failed += bad
  }
  return ok + failed === 0 ? null : (ok / (ok + failed)) * 100
}

export function pushSample(ring: Sample[], sample: Sample): void {
  ring.push(sample)
  if (ring.length > SAMPLE_RING) ring.splice(0, ring.length - SAMPLE_RING)
}

/**
 * Nearest-rank percentiles of the samples taken since `since`, each divided by `divisor`; null
 * with none. As OpenRouter publishes them, pN is the figure N% of requests did no worse than: for
 * latency the pN-th smallest, for throughput (`higherIsBetter`) the pN-th largest, so its
 * percentiles fall from p50 on (`{p50: 45.2, p75: 38.5, p90: 28.3, p99: 15.1}`).
 */
export function percentiles(samples: readonly Sample[], since: number, divisor: number, higherIsBetter = false): Percentiles | null {
  const values = samples.filter(([at]) => at >= since).map(([, value]) => value / divisor)
  if (values.length === 0) return null
  values.sort(higherIsBetter ? (a, b) => b - a : (a, b) => a - b)
  const rank = (p: number) => values[Math.max(0, Math.ceil((p / 100) * values.length) - 1)]!
  return { p50: rank(50), p75: rank(75), p90: rank(90), p99: rank(99) }
}

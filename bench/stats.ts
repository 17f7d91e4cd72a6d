/** Latency percentiles in milliseconds, from every sample (no histogram buckets, so sub-ms differences survive). */
export interface Percentiles {
  p50: number
  p90: number
  p99: number
  mean: number
  max: number
  samples: number
}

/** Nearest-rank percentiles; null for an empty sample. */
export function percentiles(samples: number[]): Percentiles | null {
  if (samples.length === 0) return null
  const sorted = Float64Array.from(samples).sort()
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  let sum = 0
  for (const value of sorted) sum += value
  return { p50: at(50), p90: at(90), p99: at(99), mean: sum / sorted.length, max: sorted[sorted.length - 1] ?? Number.NaN, samples: sorted.length }
}

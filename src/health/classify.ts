import type { ObservationKind } from './types'

/** How an upstream HTTP answer counts for health; null for answers that say nothing about availability (4xx other than 429). */
export function kindOfStatus(status: number): ObservationKind | null {
  if (status >= 200 && status < 300) return 'success'
  if (status === 429) return 'rate_limited'
  if (status >= 500) return 'server_error'
  return null
}

/** A Retry-After header (delay in seconds, or an HTTP date) as milliseconds from `now`; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null
  const value = header.trim()
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000)
  // Date.parse reads bare numbers such as "-3" as years: an HTTP date always names its day and month.
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN
  return Number.isNaN(date) ? null : Math.max(0, date - now)
}

import type { ObservationKind } from './types'

/**
 * How a probe's HTTP answer counts for health, as traffic's does (gateway/failures.ts): a 401,
 * 402, 403 or 404 says the endpoint is broken for us (our credentials, our credit, the catalog's
 * model id); other 4xx say nothing about availability (null).
 */
export function kindOfStatus(status: number): ObservationKind | null {
  if (status >= 200 && status < 300) return 'success'
  if (status === 429) return 'rate_limited'
  if (status >= 500 || status === 401 || status === 402 || status === 403 || status === 404) return 'server_error'
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

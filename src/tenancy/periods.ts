/**
 * Usage periods for `limit_reset`: UTC days, weeks starting Monday, calendar months. Pure.
 */
export type LimitReset = 'daily' | 'weekly' | 'monthly'

export const DAY_MS = 86_400_000

/** The start (ms) of the period containing `now`. */
export function periodStart(kind: LimitReset, now: number): number {
  const date = new Date(now)
  const midnight = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate())
  switch (kind) {
    case 'daily':
      return midnight
    case 'weekly':
      // getUTCDay: Sunday 0 … Saturday 6; days since Monday = (day + 6) % 7
      return midnight - ((date.getUTCDay() + 6) % 7) * DAY_MS
    case 'monthly':
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1)
  }
}

/** The start (ms) of the next period after the one containing `now`. */
export function nextPeriodStart(kind: LimitReset, now: number): number {
  const start = periodStart(kind, now)
  switch (kind) {
    case 'daily':
      return start + DAY_MS
    case 'weekly':
      return start + 7 * DAY_MS
    case 'monthly': {
      const date = new Date(start)
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1)
    }
  }
}

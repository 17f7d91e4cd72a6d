import { describe, expect, it } from 'vitest'
import { nextPeriodStart, periodStart } from '../../src/tenancy/periods'

const at = (iso: string) => Date.parse(iso)

describe('usage periods (UTC)', () => {
  it.each([
    ['daily', '2026-11-22T23:59:59.999Z', '2026-11-22T00:00:00Z', '2026-11-23T00:00:00Z'],
    ['daily', '2026-11-23T00:00:00Z', '2026-11-23T00:00:00Z', '2026-11-24T00:00:00Z'],
    // 2026-11-22 is a Sunday: its week began on Monday the 16th
    ['weekly', '2026-11-22T12:00:00Z', '2026-11-16T00:00:00Z', '2026-11-23T00:00:00Z'],
    ['weekly', '2026-11-23T00:00:00Z', '2026-11-23T00:00:00Z', '2026-11-30T00:00:00Z'],
    ['monthly', '2026-12-31T23:59:59Z', '2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z'],
    ['monthly', '2028-02-29T10:00:00Z', '2028-02-01T00:00:00Z', '2028-03-01T00:00:00Z'],
  ] as const)('%s period of %s starts %s and ends %s', (kind, now, start, next) => {
    expect(periodStart(kind, at(now))).toBe(at(start))
    expect(nextPeriodStart(kind, at(now))).toBe(at(next))
  })
})

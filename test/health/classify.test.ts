import { describe, expect, it } from 'vitest'
import { retryAfterMs } from '../../src/health/classify'

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-22T12:00:00Z')
  it.each([
    { header: null, expected: null },
    { header: '7', expected: 7_000 },
    { header: ' 0.5 ', expected: 500 },
    { header: 'Sun, 22 Nov 2026 12:00:30 GMT', expected: 30_000 },
    { header: 'Sun, 22 Nov 2026 11:00:00 GMT', expected: 0 },
    // The obsolete forms RFC 9110 still asks recipients to read: RFC 850's and asctime's.
    { header: 'Sunday, 22-Nov-26 12:00:30 GMT', expected: 30_000 },
    { header: 'Sun Nov 22 12:00:30 2026', expected: 30_000 },
    { header: 'soon', expected: null },
    { header: '-3', expected: null },
  ])('$header → $expected', ({ header, expected }) => {
    expect(retryAfterMs(header, now)).toBe(expected)
  })
})

import { describe, expect, it } from 'vitest'
import { kindOfStatus, retryAfterMs } from '../../src/health/classify'

describe('kindOfStatus', () => {
  it.each([
    [200, 'success'],
    [204, 'success'],
    [429, 'rate_limited'],
    [500, 'server_error'],
    [529, 'server_error'],
    [400, null],
    [413, null],
    // Broken for us, as traffic counts them: our credentials, our credit, the catalog's model id.
    [401, 'server_error'],
    [402, 'server_error'],
    [403, 'server_error'],
    [404, 'server_error'],
  ] as const)('%i → %s', (status, kind) => {
    expect(kindOfStatus(status)).toBe(kind)
  })
})

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-22T12:00:00Z')
  it.each([
    { header: null, expected: null },
    { header: '7', expected: 7_000 },
    { header: ' 0.5 ', expected: 500 },
    { header: 'Sun, 22 Nov 2026 12:00:30 GMT', expected: 30_000 },
    { header: 'Sun, 22 Nov 2026 11:00:00 GMT', expected: 0 },
    { header: 'soon', expected: null },
    { header: '-3', expected: null },
  ])('$header → $expected', ({ header, expected }) => {
    expect(retryAfterMs(header, now)).toBe(expected)
  })
})

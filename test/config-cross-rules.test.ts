import { afterEach, describe, expect, it, vi } from 'vitest'
import { configOf } from '../src/config'

/**
 * Rules between settings that config.ts and docs/routing.md state ("The setting must exceed
 * HEALTH_PUBLISH_MS + HEALTH_REFRESH_MS"; "A lease stays far below RESERVATION_TTL_MS (a ticket
 * must not expire while it can be taken)") are neither enforced nor logged: each value passes its
 * own rule, and the combination silently does what the docs say it must not. A setting that breaks
 * one should be named in the once-per-env warning, as a setting that breaks its own rule is.
 */

afterEach(() => vi.restoreAllMocks())

describe('settings that break a rule between settings', () => {
  it('HEALTH_STALE_MS at or below HEALTH_PUBLISH_MS + HEALTH_REFRESH_MS is reported', () => {
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
    // An operator slows the isolate refresh to 30 s to save KV reads; HEALTH_STALE_MS stays 30 s.
    configOf({ HEALTH_REFRESH_MS: '30000' })
    expect(warned).toHaveBeenCalledTimes(1)
    expect(String(warned.mock.calls[0]![0])).toContain('HEALTH_STALE_MS')
  })

  it('RESERVATION_TTL_MS at or below LEASE_MS (seconds typed where milliseconds are meant) is reported', () => {
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
    // "900" meant 15 minutes: every ticket's reservation now expires before its lease ends, and a
    // stream renews its reservation every 300 ms.
    configOf({ RESERVATION_TTL_MS: '900' })
    expect(warned).toHaveBeenCalledTimes(1)
    expect(String(warned.mock.calls[0]![0])).toContain('RESERVATION_TTL_MS')
  })
})

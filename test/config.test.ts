import { describe, expect, it } from 'vitest'
import { configOf, DEFAULT_CONFIG } from '../src/config'

describe('operational settings', () => {
  it('read Worker variables (strings), and fall back to the default for a malformed value', () => {
    const config = configOf({ SETTLE_LINGER_MS: '40', TIMEOUT_IDLE_MS: 'soon', MAX_ATTEMPTS: '-2' })
    expect(config.SETTLE_LINGER_MS).toBe(40)
    expect(config.TIMEOUT_IDLE_MS).toBe(DEFAULT_CONFIG.TIMEOUT_IDLE_MS)
    expect(config.MAX_ATTEMPTS).toBe(DEFAULT_CONFIG.MAX_ATTEMPTS)
  })

  it('keep background waits (settlement lingers, the health flush) within 5 s, so a round always fits in a request’s waitUntil', () => {
    const waits = ['SETTLE_LINGER_MS', 'SETTLE_LINGER_BUSY_MS', 'HEALTH_FLUSH_MS'] as const
    const atCap = configOf(Object.fromEntries(waits.map((name) => [name, '5000'])))
    const tooLong = configOf(Object.fromEntries(waits.map((name) => [name, '30000'])))
    for (const name of waits) {
      expect(atCap[name]).toBe(5000)
      expect(tooLong[name]).toBe(DEFAULT_CONFIG[name])
    }
  })
})

import { describe, expect, it } from 'vitest'
import { configOf, DEFAULT_CONFIG } from '../src/config'

describe('operational settings', () => {
  it('read Worker variables (strings), and fall back to the default for a malformed value', () => {
    const config = configOf({ SETTLE_LINGER_MS: '40', TIMEOUT_IDLE_MS: 'soon', MAX_ATTEMPTS: '-2' })
    expect(config.SETTLE_LINGER_MS).toBe(40)
    expect(config.TIMEOUT_IDLE_MS).toBe(DEFAULT_CONFIG.TIMEOUT_IDLE_MS)
    expect(config.MAX_ATTEMPTS).toBe(DEFAULT_CONFIG.MAX_ATTEMPTS)
  })

  it('keep a settlement linger within 5 s, so a flush round always fits in a request’s waitUntil', () => {
    expect(configOf({ SETTLE_LINGER_MS: '5000', SETTLE_LINGER_BUSY_MS: '5000' })).toMatchObject({ SETTLE_LINGER_MS: 5000, SETTLE_LINGER_BUSY_MS: 5000 })
    const tooLong = configOf({ SETTLE_LINGER_MS: '30000', SETTLE_LINGER_BUSY_MS: '60000' })
    expect(tooLong.SETTLE_LINGER_MS).toBe(DEFAULT_CONFIG.SETTLE_LINGER_MS)
    expect(tooLong.SETTLE_LINGER_BUSY_MS).toBe(DEFAULT_CONFIG.SETTLE_LINGER_BUSY_MS)
  })
})

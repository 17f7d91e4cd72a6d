import { afterEach, describe, expect, it, vi } from 'vitest'
import { configOf, DEFAULT_CONFIG } from '../src/config'

describe('operational settings', () => {
  afterEach(() => vi.restoreAllMocks())

  it('read Worker variables (strings), and fall back to the default for a malformed value', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const config = configOf({ SETTLE_LINGER_MS: '40', TIMEOUT_IDLE_MS: 'soon', MAX_ATTEMPTS: '-2' })
    expect(config.SETTLE_LINGER_MS).toBe(40)
    expect(config.TIMEOUT_IDLE_MS).toBe(DEFAULT_CONFIG.TIMEOUT_IDLE_MS)
    expect(config.MAX_ATTEMPTS).toBe(DEFAULT_CONFIG.MAX_ATTEMPTS)
  })

  it('keep background waits (settlement lingers, the health flush) within 5 s, so a round always fits in a request’s waitUntil', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const waits = ['SETTLE_LINGER_MS', 'SETTLE_LINGER_BUSY_MS', 'HEALTH_FLUSH_MS'] as const
    const atCap = configOf(Object.fromEntries(waits.map((name) => [name, '5000'])))
    const tooLong = configOf(Object.fromEntries(waits.map((name) => [name, '30000'])))
    for (const name of waits) {
      expect(atCap[name]).toBe(5000)
      expect(tooLong[name]).toBe(DEFAULT_CONFIG[name])
    }
  })

  it('read the Anthropic betas to forward as a comma-separated string or a JSON list; unset means the defaults', () => {
    expect(configOf({ ANTHROPIC_BETAS: ' A-1 , b-2,,' }).ANTHROPIC_BETAS).toEqual(['a-1', 'b-2'])
    expect(configOf({ ANTHROPIC_BETAS: ['a-1', 'b-2'] }).ANTHROPIC_BETAS).toEqual(['a-1', 'b-2'])
    expect(configOf({ ANTHROPIC_BETAS: '' }).ANTHROPIC_BETAS).toEqual([])
    expect(configOf({}).ANTHROPIC_BETAS).toEqual(['interleaved-thinking-2025-05-14', 'fine-grained-tool-streaming-2025-05-14', 'token-efficient-tools-2025-02-19'])
  })

  it('say once which set value could not be used, and why, without echoing it', () => {
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const env = { SETTLE_LINGER_BUSY_MS: '30000', TIMEOUT_IDLE_MS: 'soon-ish', MAX_ATTEMPTS: '3' }
    configOf(env)
    configOf(env)
    expect(warned).toHaveBeenCalledTimes(1)
    const message = String(warned.mock.calls[0]![0])
    expect(message).toContain('SETTLE_LINGER_BUSY_MS (Too big')
    expect(message).toContain('default 250')
    expect(message).toContain('TIMEOUT_IDLE_MS (')
    expect(message).not.toContain('MAX_ATTEMPTS')
    expect(message).not.toContain('30000')
    expect(message).not.toContain('soon-ish')
    // Well-formed settings say nothing.
    configOf({ MAX_ATTEMPTS: '2' })
    expect(warned).toHaveBeenCalledTimes(1)
  })
})

describe('settings an operator may write by slip', () => {
  afterEach(() => vi.restoreAllMocks())

  it('leave a blank value at its default, also where 0 means off (a blank RESPONSES_RETENTION_DAYS would delete every stored response), logging nothing: it is unset', () => {
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const blank = configOf({ MAX_ATTEMPTS: '', RESPONSES_RETENTION_DAYS: '', LEASE_MS: '', LEASE_MAX_TICKETS: ' ', ROUTING_TIE_BAND_MS: '', SETTLE_LINGER_MS: '' })
    expect(blank).toMatchObject({
      MAX_ATTEMPTS: DEFAULT_CONFIG.MAX_ATTEMPTS,
      RESPONSES_RETENTION_DAYS: DEFAULT_CONFIG.RESPONSES_RETENTION_DAYS,
      LEASE_MS: DEFAULT_CONFIG.LEASE_MS,
      LEASE_MAX_TICKETS: DEFAULT_CONFIG.LEASE_MAX_TICKETS,
      ROUTING_TIE_BAND_MS: DEFAULT_CONFIG.ROUTING_TIE_BAND_MS,
      SETTLE_LINGER_MS: DEFAULT_CONFIG.SETTLE_LINGER_MS,
    })
    expect(warned).not.toHaveBeenCalled()
    // An explicit 0 still turns them off.
    expect(configOf({ RESPONSES_RETENTION_DAYS: '0', LEASE_MS: '0' })).toMatchObject({ RESPONSES_RETENTION_DAYS: 0, LEASE_MS: 0 })
  })

  it('refuse a percentage over 100 (a smoothing weight of 300% drives latency negative), logging the setting', () => {
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const config = configOf({ HEALTH_EWMA_WEIGHT_PCT: '300', CIRCUIT_ERROR_RATE_PCT: '101' })
    expect(config).toMatchObject({ HEALTH_EWMA_WEIGHT_PCT: DEFAULT_CONFIG.HEALTH_EWMA_WEIGHT_PCT, CIRCUIT_ERROR_RATE_PCT: DEFAULT_CONFIG.CIRCUIT_ERROR_RATE_PCT })
    expect(String(warned.mock.calls[0]?.[0])).toMatch(/CIRCUIT_ERROR_RATE_PCT.*HEALTH_EWMA_WEIGHT_PCT/)
    expect(configOf({ HEALTH_EWMA_WEIGHT_PCT: '100' }).HEALTH_EWMA_WEIGHT_PCT).toBe(100)
  })

  it('read ANTHROPIC_BETAS as a JSON list written as text (.dev.vars, a dashboard text variable), and refuse broken JSON', () => {
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
    expect(configOf({ ANTHROPIC_BETAS: '["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"]' }).ANTHROPIC_BETAS).toEqual([
      'interleaved-thinking-2025-05-14',
      'context-1m-2025-08-07',
    ])
    expect(configOf({ ANTHROPIC_BETAS: '["interleaved-thinking-2025-05-14"' }).ANTHROPIC_BETAS).toEqual(DEFAULT_CONFIG.ANTHROPIC_BETAS)
    expect(String(warned.mock.calls.at(-1)?.[0])).toContain('ANTHROPIC_BETAS')
    expect(configOf({ ANTHROPIC_BETAS: '' }).ANTHROPIC_BETAS).toEqual([])
  })
})

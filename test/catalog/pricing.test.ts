import { describe, expect, it } from 'vitest'
import { costNano, parsePricing, parseUsd, usdText, worstCaseNano } from '../../src/catalog/pricing'
import { ZERO_USAGE } from '../../src/formats/canonical'

describe('parseUsd', () => {
  it.each([
    ['0', 0n],
    ['1', 1_000_000_000_000n],
    ['0.000003', 3_000_000n],
    ['0.0000000375', 37_500n],
    ['0.000000000001', 1n],
    ['12.5', 12_500_000_000_000n],
  ])('%s USD is %s pico-USD', (amount, pico) => {
    expect(parseUsd(amount)).toBe(pico)
  })
})

describe('usdText', () => {
  it('prints nano-dollars exactly, with at least two decimals', () => {
    expect(usdText(1)).toBe('$0.000000001')
    expect(usdText(10_000)).toBe('$0.00001')
    expect(usdText(0)).toBe('$0.00')
    expect(usdText(12_500_000_000)).toBe('$12.50')
    expect(usdText(1_000_000_001)).toBe('$1.000000001')
    expect(usdText(-2_500_000)).toBe('-$0.0025')
    expect(usdText(Number.MAX_SAFE_INTEGER)).toBe('$9007199.254740991')
  })
})

describe('costNano', () => {
  const prices = parsePricing({ prompt: '0.000003', completion: '0.000015', cacheRead: '0.0000003', cacheWrite: '0.00000375' })

  it('charges prompt and completion tokens at their prices', () => {
    expect(costNano({ ...ZERO_USAGE, promptTokens: 1000, completionTokens: 100 }, prices)).toBe(4_500_000)
  })

  it('charges cached and cache-written prompt tokens at their own prices', () => {
    const usage = { ...ZERO_USAGE, promptTokens: 10_000, cachedTokens: 8_000, cacheWriteTokens: 1_000, completionTokens: 0 }
    // 1000 uncached × 3000 + 8000 × 300 + 1000 × 3750 nano-USD... in pico: 3e9 + 2.4e9 + 3.75e9 = 9.15e9 pico
    expect(costNano(usage, prices)).toBe(9_150_000)
  })

  it('charges cache writes kept for an hour at their price, twice the prompt price unless the catalog sets one', () => {
    const usage = { ...ZERO_USAGE, promptTokens: 3_000, cacheWriteTokens: 2_000, cacheWrite1hTokens: 1_500 }
    // In nano-USD: 1,000 uncached × 3,000 + 500 five-minute writes × 3,750 + 1,500 hour writes × 6,000
    expect(costNano(usage, prices)).toBe(13_875_000)
    expect(costNano(usage, parsePricing({ prompt: '0.000003', completion: '0', cacheWrite: '0.00000375', cacheWrite1h: '0.000005' }))).toBe(3_000_000 + 1_875_000 + 7_500_000)
    // An hour's count above all writes counts only the writes.
    expect(costNano({ ...usage, cacheWrite1hTokens: 9_000 }, prices)).toBe(3_000_000 + 12_000_000)
  })

  it('rounds fractions of a nano-USD up, so sums of requests never undercharge', () => {
    const cheap = parsePricing({ prompt: '0.0000000375', completion: '0' })
    expect(costNano({ ...ZERO_USAGE, promptTokens: 1 }, cheap)).toBe(38)
    expect(costNano({ ...ZERO_USAGE, promptTokens: 1000 }, cheap)).toBe(37_500)
  })

  it('adds the flat request fee', () => {
    const fee = parsePricing({ prompt: '0', completion: '0', request: '0.005' })
    expect(costNano(ZERO_USAGE, fee)).toBe(5_000_000)
  })

  it('is exact where floating point is not', () => {
    const prices = parsePricing({ prompt: '0.0000001', completion: '0.0000002' })
    // 0.1 + 0.2 style: 3 tokens at $0.1/M and 3 at $0.2/M is exactly 900 nano-USD
    expect(costNano({ ...ZERO_USAGE, promptTokens: 3, completionTokens: 3 }, prices)).toBe(900)
  })
})

describe('worstCaseNano', () => {
  const prices = parsePricing({ prompt: '0.000003', completion: '0.000015', cacheWrite: '0.00000375' })

  it("prices every prompt token at the dearest prompt-side rate, an hour's write only when the request asks for one", () => {
    expect(worstCaseNano(1_000, 100, prices, false)).toBe(1_000 * 3_750 + 100 * 15_000)
    expect(worstCaseNano(1_000, 100, prices, true)).toBe(1_000 * 6_000 + 100 * 15_000)
  })
})

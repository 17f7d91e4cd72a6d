import { describe, expect, it } from 'vitest'
import { exactPricing, perMillionToPerToken, shiftDecimal } from '../../../src/catalog/sync/prices'

describe('perMillionToPerToken', () => {
  const cases: [number, string | null][] = [
    [0.075, '0.000000075'],
    [0.15, '0.00000015'],
    [2.5, '0.0000025'],
    [0.0375, '0.0000000375'],
    [0.59, '0.00000059'],
    [15, '0.000015'],
    [1200, '0.0012'],
    [0, '0'],
    [1e-7, '0.0000000000001'],
    [-1, null],
    [Number.NaN, null],
    [Number.POSITIVE_INFINITY, null],
  ]
  it.each(cases)('$%s per million tokens is %s per token', (perMillion, perToken) => {
    expect(perMillionToPerToken(perMillion)).toBe(perToken)
  })

  it('is exact where float division is not', () => {
    expect(String(0.9 / 1e6)).toBe('9.000000000000001e-7')
    expect(perMillionToPerToken(0.9)).toBe('0.0000009')
  })
})

describe('shiftDecimal', () => {
  const cases: [string, number, string | null][] = [
    ['0.00000015', 0, '0.00000015'],
    ['0.000003000', 0, '0.000003'],
    ['007.50', 0, '7.5'],
    ['1e-7', 0, '0.0000001'],
    ['2.5E+2', -6, '0.00025'],
    ['3', 2, '300'],
    ['-1', 0, null],
    ['1e999', 0, null],
    ['abc', 0, null],
    ['', 0, null],
  ]
  it.each(cases)('%s moved %i places is %s', (text, places, expected) => {
    expect(shiftDecimal(text, places)).toBe(expected)
  })
})

describe('exactPricing', () => {
  it('converts every present price and leaves absent ones out', () => {
    expect(
      exactPricing(
        [
          ['prompt', 'cost.input', 0.8],
          ['completion', 'cost.output', 4],
          ['cacheRead', 'cost.cache_read', 0.08],
          ['cacheWrite', 'cost.cache_write', undefined],
        ],
        -6,
      ),
    ).toEqual({ prompt: '0.0000008', completion: '0.000004', cacheRead: '0.00000008' })
  })

  it('drops a zero request fee but keeps a real one', () => {
    const prices = (request: string) => exactPricing([['prompt', 'p', '0.000001'], ['completion', 'c', '0.000002'], ['request', 'pricing.request', request]], 0)
    expect(prices('0')).toEqual({ prompt: '0.000001', completion: '0.000002' })
    expect(prices('0.005')).toEqual({ prompt: '0.000001', completion: '0.000002', request: '0.005' })
  })

  const refused: [string, ReturnType<typeof exactPricing>][] = [
    ['variable pricing', exactPricing([['prompt', 'pricing.prompt', '-1'], ['completion', 'pricing.completion', '-1']], 0)],
    ['finer than 12 decimals per token', exactPricing([['prompt', 'cost.input', 1e-7], ['completion', 'cost.output', 1]], -6)],
  ]
  it.each(refused)('refuses %s with a reason naming the field', (_label, result) => {
    expect(result).toMatch(/^(pricing\.prompt "-1"|cost\.input 1e-7) is not a price Meridian can hold exactly/)
  })

  it('needs both prompt and completion', () => {
    expect(exactPricing([['prompt', 'cost.input', 1]], -6)).toBe('no prompt or completion price')
  })
})

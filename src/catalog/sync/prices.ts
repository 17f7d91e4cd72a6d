import { PricingSchema, UsdAmount, type PricingSpec } from '../schema'

/**
 * Exact price conversion. Sources give prices as decimal text (OpenRouter, USD per token) or JSON
 * numbers (models.dev, USD per million tokens). Dividing a float by 1e6 turns $0.075 into
 * 7.499999999999999e-8, so the decimal point is moved on the digits instead. A JSON number's
 * shortest round-trip form (`String(n)`) is the decimal its author wrote, so nothing is lost there.
 */

const DECIMAL = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i
// Beyond this the value is garbage, not a price; refusing it also bounds the padding below.
const MAX_EXPONENT = 30

/** Moves the decimal point `places` to the right (left when negative); null for anything but a non-negative decimal. */
export function shiftDecimal(text: string, places: number): string | null {
  const match = DECIMAL.exec(text.trim())
  if (!match) return null
  const [, whole = '', fraction = '', exponent = '0'] = match
  if (Math.abs(Number(exponent)) > MAX_EXPONENT) return null
  const digits = whole + fraction
  const point = whole.length + Number(exponent) + places
  if (point <= 0) return trimmed(`0.${'0'.repeat(-point)}${digits}`)
  if (point >= digits.length) return trimmed(digits + '0'.repeat(point - digits.length))
  return trimmed(`${digits.slice(0, point)}.${digits.slice(point)}`)
}

function trimmed(text: string): string {
  const [whole = '0', fraction = ''] = text.split('.')
  const integer = whole.replace(/^0+(?=\d)/, '')
  const decimals = fraction.replace(/0+$/, '')
  return decimals ? `${integer}.${decimals}` : integer
}

/** USD per million tokens (a JSON number) → USD per token as the catalog's decimal string, e.g. 0.075 → "0.000000075". */
export function perMillionToPerToken(value: number): string | null {
  return shiftDecimal(numberText(value), -6)
}

// NaN and Infinity have no digits; '' fails the decimal pattern.
const numberText = (value: number): string => (Number.isFinite(value) ? String(value) : '')

type PriceKey = keyof PricingSpec
/** `[catalog key, the source's field name (for reasons), the source's value]` */
export type SourcePrice = [PriceKey, string, string | number | null | undefined]

/**
 * Source prices → catalog pricing, each converted exactly with the decimal point moved `places`;
 * a reason instead when a price cannot be held exactly (negative, "-1" for variable pricing,
 * finer than 12 decimals per token). Absent optional prices stay absent; a zero request fee is dropped.
 */
export function exactPricing(prices: SourcePrice[], places: number): PricingSpec | string {
  const pricing: Partial<Record<PriceKey, string>> = {}
  for (const [key, field, raw] of prices) {
    if (raw === undefined || raw === null) continue
    const value = shiftDecimal(typeof raw === 'number' ? numberText(raw) : raw, places)
    if (value === null || !UsdAmount.safeParse(value).success) {
      return `${field} ${JSON.stringify(raw)} is not a price Meridian can hold exactly (non-negative, at most 12 decimals per token)`
    }
    if (key === 'request' && value === '0') continue
    pricing[key] = value
  }
  const parsed = PricingSchema.safeParse(pricing)
  return parsed.success ? parsed.data : 'no prompt or completion price'
}

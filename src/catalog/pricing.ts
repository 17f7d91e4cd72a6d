import type { TokenUsage } from '../formats/canonical'
import type { PricingSpec } from './schema'

/**
 * Exact money. Catalog prices are decimal strings (USD per token); they are parsed once into
 * integer pico-USD (1e-12) so that a price such as $0.0375 per million tokens stays exact, and
 * costs are computed in BigInt pico-USD, then rounded *up* to the ledger unit, nano-USD (1e-9).
 * A nano-USD Number holds up to about $9 million exactly, far beyond any single key's ledger.
 */

const PICO_PER_USD = 10n ** 12n
const PICO_PER_NANO = 1000n

export interface Prices {
  prompt: bigint
  completion: bigint
  cacheRead: bigint
  cacheWrite: bigint
  cacheWrite1h: bigint
  request: bigint
}

/** "0.0000025" → 2_500_000n pico-USD. The schema already guarantees the shape. */
export function parseUsd(amount: string): bigint {
  const [whole = '0', fraction = ''] = amount.split('.')
  return BigInt(whole) * PICO_PER_USD + BigInt(fraction.padEnd(12, '0').slice(0, 12) || '0')
}

/** 2_500_000n pico-USD → "0.0000025": parseUsd's inverse. */
export function usdString(pico: bigint): string {
  const fraction = (pico % PICO_PER_USD).toString().padStart(12, '0').replace(/0+$/, '')
  return fraction ? `${pico / PICO_PER_USD}.${fraction}` : String(pico / PICO_PER_USD)
}

export function parsePricing(spec: PricingSpec): Prices {
  const prompt = parseUsd(spec.prompt)
  return {
    prompt,
    completion: parseUsd(spec.completion),
    cacheRead: spec.cacheRead === undefined ? prompt : parseUsd(spec.cacheRead),
    cacheWrite: spec.cacheWrite === undefined ? prompt : parseUsd(spec.cacheWrite),
    cacheWrite1h: spec.cacheWrite1h === undefined ? 2n * prompt : parseUsd(spec.cacheWrite1h),
    request: spec.request === undefined ? 0n : parseUsd(spec.request),
  }
}

function ceilToNano(pico: bigint): number {
  return Number((pico + PICO_PER_NANO - 1n) / PICO_PER_NANO)
}

/**
 * Decoders already read counts as whole tokens (BilledTokenCount); this guards the arithmetic. A
 * fraction rounds up, as the decoders round it, and a negative or non-finite one counts nothing
 * rather than crediting the key or throwing.
 */
function tokens(count: number): number {
  return Number.isFinite(count) ? Math.max(0, Math.ceil(count)) : 0
}

/**
 * The cost of one request in nano-USD: cached and cache-written prompt tokens at their own prices,
 * and those written for an hour at theirs.
 */
export function costNano(usage: TokenUsage, prices: Prices): number {
  const prompt = tokens(usage.promptTokens)
  const cached = Math.min(tokens(usage.cachedTokens), prompt)
  const written = Math.min(tokens(usage.cacheWriteTokens), prompt - cached)
  const hour = Math.min(tokens(usage.cacheWrite1hTokens ?? 0), written)
  const uncached = BigInt(prompt - cached - written)
  const pico =
    uncached * prices.prompt +
    BigInt(cached) * prices.cacheRead +
    BigInt(written - hour) * prices.cacheWrite +
    BigInt(hour) * prices.cacheWrite1h +
    BigInt(tokens(usage.completionTokens)) * prices.completion +
    prices.request
  return ceilToNano(pico)
}

/**
 * The most a request can cost at an endpoint: every prompt token at the dearest prompt-side price
 * (a cache write can cost more than a plain read; a write for an hour, only a request asking for
 * one can make) plus every allowed output token.
 */
export function worstCaseNano(promptTokens: number, completionTokens: number, prices: Prices, cachesForAnHour: boolean): number {
  const writes = cachesForAnHour ? [prices.cacheWrite, prices.cacheWrite1h] : [prices.cacheWrite]
  const promptPrice = [prices.prompt, prices.cacheRead, ...writes].reduce((a, b) => (b > a ? b : a))
  return ceilToNano(BigInt(promptTokens) * promptPrice + BigInt(completionTokens) * prices.completion + prices.request)
}

/**
 * Nano-USD as people read dollars, exactly: every significant digit and at least two decimals
 * ($0.000000001, $0.00001, $12.50), so a tiny limit or cost never prints as $0.000000.
 */
export function usdText(nano: number): string {
  const sign = nano < 0 ? '-' : ''
  const amount = Math.abs(nano)
  const fraction = String(amount % 1e9).padStart(9, '0').replace(/0+$/, '').padEnd(2, '0')
  return `${sign}$${Math.floor(amount / 1e9)}.${fraction}`
}

/** Nano-USD → USD for display (JSON numbers); never used for arithmetic. */
export function nanoToUsd(nano: number): number {
  return nano / 1e9
}

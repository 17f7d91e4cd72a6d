import * as z from 'zod'

/**
 * What a key may do: its credit limit, rate limits, concurrency and allow-lists. Stored in the
 * key's record; enforced by the key's Durable Object at admission. Pure.
 */

const Glob = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[a-z0-9*._:/-]+$/i, 'must be a model or provider id, optionally with * wildcards (e.g. "anthropic/*")')

/** Each limit left out is kept as it was (none, for a new key); null removes it. */
export const RateLimit = z.strictObject({
  requests_per_minute: z.number().int().positive().nullable().optional(),
  tokens_per_minute: z.number().int().positive().nullable().optional(),
})
export type RateLimit = z.infer<typeof RateLimit>

/** USD on the wire (OpenRouter's shape); stored as integer nano-USD, rounded to the nearest nano. */
export const UsdLimit = z
  .number()
  .min(0)
  .max(1_000_000)
  // A positive limit that rounds to no nano-USD would be stored as 0, refusing every request.
  .refine((usd) => usd === 0 || Math.round(usd * 1e9) > 0, 'must be 0 or at least 0.000000001 (one nano-USD, the ledger’s unit)')

export const PolicyFields = {
  limit: UsdLimit.nullable(),
  limit_reset: z.enum(['daily', 'weekly', 'monthly']).nullable(),
  rate_limit: RateLimit.nullable(),
  max_concurrency: z.number().int().positive().max(10_000).nullable(),
  allowed_models: z.array(Glob).max(100).nullable(),
  allowed_providers: z.array(Glob).max(100).nullable(),
}

export interface Policy {
  /** Credit limit in nano-USD; null means unlimited. */
  limitNano: number | null
  limitReset: 'daily' | 'weekly' | 'monthly' | null
  requestsPerMinute: number | null
  tokensPerMinute: number | null
  maxConcurrency: number | null
  allowedModels: string[] | null
  allowedProviders: string[] | null
}

export const OPEN_POLICY: Policy = {
  limitNano: null,
  limitReset: null,
  requestsPerMinute: null,
  tokensPerMinute: null,
  maxConcurrency: null,
  allowedModels: null,
  allowedProviders: null,
}

export function usdToNano(usd: number): number {
  return Math.round(usd * 1e9)
}

/**
 * `anthropic/*` matches `anthropic/claude-x`; `*` alone matches everything; matching ignores case.
 * In at most (pattern × value) steps, whatever the pattern: a regular expression built from
 * `*****…z` backtracks exponentially, and admission runs this for every candidate.
 */
export function globMatches(pattern: string, value: string): boolean {
  const glob = pattern.toLowerCase()
  const text = value.toLowerCase()
  let g = 0
  let t = 0
  // The last `*` seen, and where in the text its match would grow from on a mismatch.
  let star = -1
  let resume = 0
  while (t < text.length) {
    if (glob[g] === '*') {
      star = g++
      resume = t
    } else if (g < glob.length && glob[g] === text[t]) {
      g++
      t++
    } else if (star >= 0) {
      g = star + 1
      t = ++resume
    } else {
      return false
    }
  }
  while (glob[g] === '*') g++
  return g === glob.length
}

export function allows(patterns: string[] | null, value: string): boolean {
  return patterns === null || patterns.some((pattern) => globMatches(pattern, value))
}

/** Whether a key's allow-lists let it use this model at this provider. */
export function allowsEndpoint(lists: Pick<Policy, 'allowedModels' | 'allowedProviders'>, model: string, provider: string): boolean {
  return allows(lists.allowedModels, model) && allows(lists.allowedProviders, provider)
}

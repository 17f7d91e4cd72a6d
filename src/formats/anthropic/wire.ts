import * as z from 'zod'

/** Shapes of the Anthropic Messages request body shared by the request converters. */

export type Block = { type: string; text?: string; [key: string]: unknown }
export type Turn = { role: 'user' | 'assistant'; content: Block[] }
export type Body = Record<string, unknown>

// Anthropic rejects unknown fields inside cache_control, so only these two are forwarded.
const CacheControl = z.looseObject({ type: z.string(), ttl: z.string().optional() })

/** A client's `cache_control` reduced to what Anthropic accepts; malformed markers are dropped. */
export function cacheControl(value: unknown): { type: string; ttl?: string } | null {
  const parsed = CacheControl.safeParse(value)
  if (!parsed.success) return null
  const { type, ttl } = parsed.data
  return ttl === undefined ? { type } : { type, ttl }
}

/** Anthropic prompt caching through OpenAI-format requests: the marker rides on the part. */
export function withCache<T extends object>(block: T, part: Record<string, unknown>): T {
  const marker = cacheControl(part.cache_control)
  return marker ? { ...block, cache_control: marker } : block
}

export function isThinking(block: Block | undefined): boolean {
  return block?.type === 'thinking' || block?.type === 'redacted_thinking'
}

import * as z from 'zod'
import type { Body } from './wire'

/**
 * Anthropic's POST /v1/messages/count_tokens: what it takes of a Messages body, and its answer.
 * The count is the provider's own (its tokenizer, its tools and thinking overhead), which is why
 * it is asked rather than estimated.
 */

/** The fields count_tokens accepts; it refuses the rest (max_tokens, stream, sampling, metadata). */
const COUNTED_FIELDS = ['model', 'system', 'messages', 'tools', 'tool_choice', 'thinking'] as const

export function countTokensBody(body: Body): Body {
  const counted: Body = {}
  for (const field of COUNTED_FIELDS) if (body[field] !== undefined) counted[field] = body[field]
  return counted
}

export const TokenCount = z.object({ input_tokens: z.number().int().nonnegative() })
export type TokenCount = z.infer<typeof TokenCount>

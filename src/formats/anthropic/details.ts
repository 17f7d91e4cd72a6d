import * as z from 'zod'
import type { Block } from './wire'

/**
 * Claude's thinking as OpenRouter's `reasoning_details`, both ways. A `thinking` block becomes a
 * `reasoning.text` entry carrying its signature, a `redacted_thinking` block a
 * `reasoning.encrypted` entry; `index` numbers the reasoning blocks of one message. Clients that
 * send an assistant message back with its `reasoning_details` get the blocks replayed, which
 * Anthropic requires to continue a tool-use turn with thinking on. The /v1/messages ingress
 * (ingress-request.ts) produces the same entries.
 */

export const CLAUDE_FORMAT = 'anthropic-claude-v1'

export interface TextDetail {
  type: 'reasoning.text'
  text?: string
  signature?: string | null
  format: typeof CLAUDE_FORMAT
  index: number
}
export interface EncryptedDetail {
  type: 'reasoning.encrypted'
  data: string
  format: typeof CLAUDE_FORMAT
  index: number
}
export type ReasoningDetail = TextDetail | EncryptedDetail

export function textDetail(index: number, text: string, signature?: string | null): TextDetail {
  return { type: 'reasoning.text', text, ...(signature === undefined ? {} : { signature }), format: CLAUDE_FORMAT, index }
}

/** The streamed signature of block `index`: no `text`, so clients merging entries by index keep theirs. */
export function signatureDetail(index: number, signature: string): TextDetail {
  return { type: 'reasoning.text', signature, format: CLAUDE_FORMAT, index }
}

export function encryptedDetail(index: number, data: string): EncryptedDetail {
  return { type: 'reasoning.encrypted', data, format: CLAUDE_FORMAT, index }
}

const Detail = z.union([
  z.looseObject({
    type: z.literal('reasoning.text'),
    text: z.string().nullish(),
    signature: z.string().nullish(),
    format: z.string().nullish(),
    index: z.number().nullish(),
  }),
  z.looseObject({ type: z.literal('reasoning.encrypted'), data: z.string(), format: z.string().nullish() }),
  z.unknown().transform(() => null),
])
const Details = z.array(Detail)

/** One of Claude's entries in a `reasoning_details` list, as the other side sent it. */
export type ClaudeDetail =
  | { type: 'reasoning.text'; text: string; signature: string; index: number | null }
  | { type: 'reasoning.encrypted'; data: string }

/**
 * Claude's entries of a `reasoning_details` list: malformed ones and those of another provider's
 * format are skipped (their signatures mean nothing to Claude; no format means Claude's,
 * OpenRouter's default).
 */
export function claudeDetails(details: unknown): ClaudeDetail[] {
  const parsed = Details.safeParse(details)
  return (parsed.success ? parsed.data : []).flatMap((detail): ClaudeDetail[] => {
    if (!detail || (detail.format != null && detail.format !== CLAUDE_FORMAT)) return []
    if (detail.type === 'reasoning.encrypted') return [{ type: detail.type, data: detail.data }]
    return [{ type: detail.type, text: detail.text ?? '', signature: detail.signature ?? '', index: detail.index ?? null }]
  })
}

/**
 * An assistant message's `reasoning_details` → its thinking blocks, in order: fragments of one
 * block sent as streamed (same index, text in pieces, signature last) are joined. A block's
 * signature is '' when none came.
 */
export function claudeThinking(details: unknown): Block[] {
  const blocks: Array<{ type: 'thinking'; thinking: string; signature: string; index: number | null } | { type: 'redacted_thinking'; data: string }> = []
  for (const detail of claudeDetails(details)) {
    if (detail.type === 'reasoning.encrypted') {
      blocks.push({ type: 'redacted_thinking', data: detail.data })
      continue
    }
    const last = blocks.at(-1)
    if (last?.type === 'thinking' && detail.index !== null && last.index === detail.index) {
      last.thinking += detail.text
      last.signature = detail.signature || last.signature
    } else blocks.push({ type: 'thinking', thinking: detail.text, signature: detail.signature, index: detail.index })
  }
  return blocks.map((block) => (block.type === 'thinking' ? { type: block.type, thinking: block.thinking, signature: block.signature } : block))
}

/**
 * The thinking blocks to replay before an assistant message's text and tool_use blocks, which
 * Anthropic requires to continue a tool-use turn with thinking on. A thinking block without a
 * signature is rejected by Anthropic, so one is dropped.
 */
export function thinkingBlocks(details: unknown): Block[] {
  return claudeThinking(details).filter((block) => block.type !== 'thinking' || block.signature !== '')
}

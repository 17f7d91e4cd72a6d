import { z } from 'zod'
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

type Replayable = { kind: 'text'; text: string; signature: string; index: number | null } | { kind: 'redacted'; data: string }

/**
 * An assistant message's `reasoning_details` → the thinking blocks to put before its text and
 * tool_use blocks. Entries of another provider's format are skipped (their signatures mean
 * nothing to Claude; no format means Claude's, OpenRouter's default). A thinking block without
 * a signature is rejected by Anthropic, so one is dropped. Fragments of one block sent back as
 * streamed (same index, text in pieces, signature last) are joined first.
 */
export function thinkingBlocks(details: unknown): Block[] {
  const parsed = Details.safeParse(details)
  const blocks: Replayable[] = []
  for (const detail of parsed.success ? parsed.data : []) {
    if (!detail || (detail.format != null && detail.format !== CLAUDE_FORMAT)) continue
    if (detail.type === 'reasoning.encrypted') {
      blocks.push({ kind: 'redacted', data: detail.data })
      continue
    }
    const last = blocks.at(-1)
    const index = detail.index ?? null
    if (last?.kind === 'text' && index !== null && last.index === index) {
      last.text += detail.text ?? ''
      last.signature = detail.signature || last.signature
    } else blocks.push({ kind: 'text', text: detail.text ?? '', signature: detail.signature ?? '', index })
  }
  return blocks.flatMap((block): Block[] => {
    if (block.kind === 'redacted') return [{ type: 'redacted_thinking', data: block.data }]
    return block.signature ? [{ type: 'thinking', thinking: block.text, signature: block.signature }] : []
  })
}

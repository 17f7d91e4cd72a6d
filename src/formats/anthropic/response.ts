import * as z from 'zod'
import { type AssistantMessage, type Completion, type FinishReason, hiddenField, normalizeFinishReason, BilledTokenCount, type TokenUsage, usageWithSeparateCache, finishWithCalls } from '../canonical'
import { isInterleaved, withBlockOrder, type BlockKind } from '../block-order'
import type { ToolCall } from '../openai/request'
import { encryptedDetail, textDetail, type ReasoningDetail } from './details'

/**
 * Anthropic Messages responses (validated at the boundary) → the canonical Completion. The
 * schemas here are shared with the stream decoder.
 *
 * Thinking becomes `reasoning` (its text) and `reasoning_details` (details.ts, with signatures
 * and redacted blocks). Which stop sequence ended the turn has no OpenAI field; it is kept as an
 * extra message field, `stop_sequence` (in a stream: a delta carrying it before the finish).
 */

/** What the decoders need from the request: the structured-output tool, and `reasoning.exclude`. */
export interface DecodeOptions {
  jsonTool: string | null
  excludeReasoning?: boolean
}

/** Read with `.nullish().catch(null)`: see BilledTokenCount. */
export const AnthropicUsage = z.looseObject({
  input_tokens: BilledTokenCount.nullish(),
  output_tokens: BilledTokenCount.nullish(),
  cache_read_input_tokens: BilledTokenCount.nullish(),
  cache_creation_input_tokens: BilledTokenCount.nullish(),
  /** The cache writes by how long they are kept: an hour's cost more. */
  cache_creation: z.looseObject({ ephemeral_1h_input_tokens: BilledTokenCount.nullish() }).nullish(),
})
export type AnthropicUsage = z.infer<typeof AnthropicUsage>

/**
 * Matches any object whose `type` is not one of `known`, marked as `other`. Anthropic adds block
 * and delta types over time (server tools, citations); those have no canonical
 * form and are skipped, while a malformed block of a known type still fails validation.
 */
export function otherThan(known: readonly string[]) {
  return z
    .looseObject({ type: z.string().refine((type) => !known.includes(type)) })
    .transform(() => ({ type: 'other' as const }))
}

export const AnthropicBlock = z.union([
  z.looseObject({ type: z.literal('text'), text: z.string() }),
  z.looseObject({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.record(z.string(), z.unknown()) }),
  z.looseObject({ type: z.literal('thinking'), thinking: z.string(), signature: z.string().nullish() }),
  z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() }),
  otherThan(['text', 'tool_use', 'thinking', 'redacted_thinking']),
])

const AnthropicMessage = z.looseObject({
  content: z.array(AnthropicBlock),
  stop_reason: z.string().nullish(),
  stop_sequence: z.string().nullish(),
  usage: AnthropicUsage.nullish().catch(null),
})

const AnthropicErrorBody = z.looseObject({ error: z.looseObject({ message: z.string() }) })

export function usageFromAnthropic(usage: AnthropicUsage): TokenUsage | null {
  return usageWithSeparateCache({
    input: usage.input_tokens,
    output: usage.output_tokens,
    cacheRead: usage.cache_read_input_tokens,
    cacheWrite: usage.cache_creation_input_tokens,
    cacheWrite1h: usage.cache_creation?.ephemeral_1h_input_tokens,
  })
}

/**
 * A call of the structured-output tool (see toAnthropic) is the answer itself, so the turn ended
 * normally; with real tool calls beside it, or cut short, the upstream's reason stands.
 */
export function anthropicFinishReason(native: string | null, toolCalls: number): FinishReason {
  return finishWithCalls(normalizeFinishReason(native), toolCalls)
}

/** Parses a non-streaming Anthropic Messages body; throws a ZodError on garbage. */
export function fromAnthropic(body: unknown, options: DecodeOptions): Completion {
  const parsed = AnthropicMessage.parse(body)
  const text: string[] = []
  const reasoning: string[] = []
  const details: ReasoningDetail[] = []
  const toolCalls: ToolCall[] = []
  const kinds: BlockKind[] = []
  let json: string | null = null
  for (const block of parsed.content) {
    if (block.type === 'text') {
      text.push(block.text)
      kinds.push('text')
    } else if (block.type === 'thinking') {
      reasoning.push(block.thinking)
      details.push(textDetail(details.length, block.thinking, block.signature ?? null))
      kinds.push('reasoning')
    } else if (block.type === 'redacted_thinking') {
      details.push(encryptedDetail(details.length, block.data))
      kinds.push('reasoning')
    } else if (block.type === 'tool_use' && block.name === options.jsonTool) json ??= JSON.stringify(block.input)
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input) } })
      kinds.push('tool')
    }
  }
  const native = parsed.stop_reason ?? null
  const shown = !options.excludeReasoning
  // Interleaved thinking keeps its place for a Messages API client, which must send the turn back so (../block-order).
  const ordered = (message: AssistantMessage) => (shown && json === null && isInterleaved(kinds) ? withBlockOrder(message, { kinds, texts: { blocks: text, joined: text.join('') } }) : message)
  return {
    message: ordered({
      role: 'assistant',
      // Text beside the JSON answer (a preamble) would make the content unparseable as JSON.
      content: json ?? (text.length ? text.join('') : null),
      refusal: null,
      ...(shown && reasoning.join('') ? { reasoning: reasoning.join('') } : {}),
      ...(shown && details.length ? { reasoning_details: details } : {}),
      ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
      ...(native === 'stop_sequence' && parsed.stop_sequence != null ? { stop_sequence: parsed.stop_sequence } : {}),
    }),
    finishReason: anthropicFinishReason(native, toolCalls.length),
    nativeFinishReason: native,
    usage: parsed.usage ? usageFromAnthropic(parsed.usage) : null,
    ...hiddenField((shown ? 0 : reasoning.join('').length) + (json !== null ? text.join('').length : 0)),
  }
}

/** The message of an Anthropic error body (`{ type: 'error', error: { type, message } }`), if it is one. */
export function anthropicErrorMessage(body: unknown): string | null {
  const parsed = AnthropicErrorBody.safeParse(body)
  return parsed.success ? parsed.data.error.message : null
}

/** The HTTP status Anthropic answers each error type with (an error event in a stream carries only the type). */
const ERROR_TYPE_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
}

const AnthropicErrorType = z.looseObject({ error: z.looseObject({ type: z.string() }) })

/** The status an Anthropic error body's type stands for, if known. */
export function anthropicErrorStatus(body: unknown): number | undefined {
  const parsed = AnthropicErrorType.safeParse(body)
  return parsed.success ? ERROR_TYPE_STATUS[parsed.data.error.type] : undefined
}

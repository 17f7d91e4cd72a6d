import * as z from 'zod'
import { type Delta, hiddenEvents, type StreamEvent, usageEvents } from '../canonical'
import { jsonEventDecoder } from '../json-events'
import { heldText } from '../json-tool'
import type { SseMessage } from '../sse'
import { encryptedDetail, signatureDetail, textDetail } from './details'
import {
  AnthropicBlock,
  AnthropicUsage,
  anthropicErrorMessage,
  anthropicErrorStatus,
  anthropicFinishReason,
  otherThan,
  usageFromAnthropic,
  type DecodeOptions,
} from './response'

/**
 * Anthropic's named SSE events → canonical stream events. Anthropic reports usage in two halves
 * (input and cache counts at message_start, output at message_delta) and the stop reason before
 * message_stop, so the decoder keeps them until message_stop and emits `finish` then `usage`
 * there. Each half is also emitted as it comes, as usage so far: a stream that ends in an error
 * or is cut short is then charged what was counted, not an estimate. Thinking streams as
 * `reasoning` plus `reasoning_details` fragments that share their block's index; the signature,
 * sent last, is one more fragment of that index.
 *
 * The answer opens (the role's delta, the stream's first event) with the first content block, even
 * a hidden one, not at message_start: Anthropic may send message_start and then an error
 * (`overloaded_error`), and until an event opens the answer the attempt can still fail over.
 */

const Index = z.number().int().nonnegative()

// Anthropic always sends usage on both; some Anthropic-compatible servers leave it out (estimated then).
const MessageStart = z.looseObject({ message: z.looseObject({ usage: z.unknown().optional() }) })
const BlockStart = z.looseObject({ index: Index, content_block: AnthropicBlock })
const BlockDelta = z.looseObject({
  index: Index,
  delta: z.union([
    z.looseObject({ type: z.literal('text_delta'), text: z.string() }),
    z.looseObject({ type: z.literal('input_json_delta'), partial_json: z.string() }),
    z.looseObject({ type: z.literal('thinking_delta'), thinking: z.string() }),
    z.looseObject({ type: z.literal('signature_delta'), signature: z.string() }),
    otherThan(['text_delta', 'input_json_delta', 'thinking_delta', 'signature_delta']),
  ]),
})
const MessageDelta = z.looseObject({
  delta: z.looseObject({ stop_reason: z.string().nullish(), stop_sequence: z.string().nullish() }),
  usage: z.unknown().optional(),
})

const BlockStop = z.looseObject({ index: Index })

/**
 * What a tool_use content block stands for: a client tool call (by its index) or the JSON answer,
 * with the input its start gave and whether any input streamed after it.
 */
/** `extra`: a later call of the JSON tool, not the answer, whose input is counted but not shown. */
type ToolBlock = ({ kind: 'call'; index: number } | { kind: 'json' } | { kind: 'extra' }) & { input: Record<string, unknown>; streamed: boolean }

const delta = (value: Delta): StreamEvent => ({ type: 'delta', delta: value })
/**
 * Usage counts are cumulative, so the larger figure wins; a later event reporting 0 for a count it
 * does not track must not erase the one message_start gave. Once an event carries usage that is
 * not usage (a string or negative count), the stream's usage is unknown: null, and estimated.
 */
function mergeUsage(base: AnthropicUsage | null, update: unknown): AnthropicUsage | null {
  const read = AnthropicUsage.nullish().safeParse(update)
  if (base === null || !read.success) return null
  const next = read.data
  const max = (a: number | null | undefined, b: number | null | undefined) => (a == null ? b : b == null ? a : Math.max(a, b))
  return {
    input_tokens: max(base.input_tokens, next?.input_tokens),
    output_tokens: max(base.output_tokens, next?.output_tokens),
    cache_read_input_tokens: max(base.cache_read_input_tokens, next?.cache_read_input_tokens),
    cache_creation_input_tokens: max(base.cache_creation_input_tokens, next?.cache_creation_input_tokens),
    cache_creation: { ephemeral_1h_input_tokens: max(base.cache_creation?.ephemeral_1h_input_tokens, next?.cache_creation?.ephemeral_1h_input_tokens) },
  }
}

export function createAnthropicStreamDecoder(options: DecodeOptions): (message: SseMessage) => StreamEvent[] {
  let usage: AnthropicUsage | null = {}
  let stopReason: string | null = null
  let stopSequence: string | null = null
  let toolCalls = 0
  let answeredInJson = false
  const text = heldText(options.jsonTool)
  const toolBlocks = new Map<number, ToolBlock>()
  /** Content block index → its index among the message's reasoning details. */
  const thinkingBlocks = new Map<number, number>()
  const shown = !options.excludeReasoning
  let opened = false
  /** Puts the role's delta before the answer's first events. */
  const opening = (events: StreamEvent[]): StreamEvent[] => {
    if (opened) return events
    opened = true
    return [delta({ role: 'assistant' }), ...events]
  }

  function blockStart(data: unknown): StreamEvent[] {
    const { index, content_block: block } = BlockStart.parse(data)
    if (block.type === 'text') return block.text ? text.text(block.text) : []
    if (block.type === 'thinking' || block.type === 'redacted_thinking') {
      const detail = thinkingBlocks.size
      thinkingBlocks.set(index, detail)
      if (!shown) return hiddenEvents(block.type === 'thinking' ? block.thinking : null)
      if (block.type === 'redacted_thinking') return [delta({ reasoning_details: [encryptedDetail(detail, block.data)] })]
      return block.thinking ? [delta({ reasoning: block.thinking, reasoning_details: [textDetail(detail, block.thinking)] })] : []
    }
    if (block.type !== 'tool_use') return []
    if (block.name === options.jsonTool) {
      // The first call is the answer; a later one's input is counted, not shown.
      toolBlocks.set(index, { kind: answeredInJson ? 'extra' : 'json', input: block.input, streamed: false })
      answeredInJson = true
      text.answered()
      return []
    }
    const call = toolCalls++
    toolBlocks.set(index, { kind: 'call', index: call, input: block.input, streamed: false })
    return [...text.release(), delta({ tool_calls: [{ index: call, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] })]
  }

  function blockDelta(data: unknown): StreamEvent[] {
    const { index, delta: body } = BlockDelta.parse(data)
    if (body.type === 'text_delta') return body.text ? text.text(body.text) : []
    if (body.type === 'thinking_delta' || body.type === 'signature_delta') {
      const detail = thinkingBlocks.get(index)
      if (detail === undefined) return []
      if (!shown) return body.type === 'thinking_delta' ? hiddenEvents(body.thinking) : []
      if (body.type === 'signature_delta') return body.signature ? [delta({ reasoning_details: [signatureDetail(detail, body.signature)] })] : []
      return body.thinking ? [delta({ reasoning: body.thinking, reasoning_details: [textDetail(detail, body.thinking)] })] : []
    }
    if (body.type !== 'input_json_delta' || !body.partial_json) return []
    // Blocks never registered (server tools) stream input too; they are not the client's calls.
    const tool = toolBlocks.get(index)
    if (!tool) return []
    // Whitespace alone is no input yet: the start's input still comes at the stop.
    if (body.partial_json.trim()) tool.streamed = true
    if (tool.kind === 'extra') return hiddenEvents(body.partial_json)
    if (tool.kind === 'json') return [delta({ content: body.partial_json })]
    return [delta({ tool_calls: [{ index: tool.index, function: { arguments: body.partial_json } }] })]
  }

  /**
   * A call whose input never streamed (Claude streams none for a tool without parameters, or a
   * JSON answer of `{}`) gets the input its start gave, `{}` there: clients parse a call's
   * arguments, and a JSON answer's content, as JSON, and "" is not.
   */
  function blockStop(data: unknown): StreamEvent[] {
    const stop = BlockStop.safeParse(data)
    const tool = stop.success ? toolBlocks.get(stop.data.index) : undefined
    if (!tool || tool.streamed || tool.kind === 'extra') return []
    tool.streamed = true
    if (tool.kind === 'json') return [delta({ content: JSON.stringify(tool.input) })]
    return [delta({ tool_calls: [{ index: tool.index, function: { arguments: JSON.stringify(tool.input) } }] })]
  }

  function decode(type: string | undefined, data: unknown): StreamEvent[] {
    switch (type) {
      case 'message_start':
        usage = mergeUsage({}, MessageStart.parse(data).message.usage)
        return usageEvents(usage && usageFromAnthropic(usage))
      case 'content_block_start':
        return opening(blockStart(data))
      case 'content_block_delta':
        return blockDelta(data)
      case 'content_block_stop':
        return blockStop(data)
      case 'message_delta': {
        const parsed = MessageDelta.parse(data)
        stopReason = parsed.delta.stop_reason ?? stopReason
        stopSequence = parsed.delta.stop_sequence ?? stopSequence
        usage = mergeUsage(usage, parsed.usage)
        // Its output count is the final one: a stream cut before message_stop is charged it.
        return usageEvents(usage && usageFromAnthropic(usage))
      }
      case 'message_stop':
        return opening([
          ...text.release(),
          ...(stopReason === 'stop_sequence' && stopSequence !== null ? [delta({ stop_sequence: stopSequence })] : []),
          { type: 'finish', finishReason: anthropicFinishReason(stopReason, toolCalls), nativeFinishReason: stopReason },
          ...usageEvents(usage && usageFromAnthropic(usage)),
        ])
      case 'error': {
        const status = anthropicErrorStatus(data)
        return [{ type: 'error', message: anthropicErrorMessage(data) ?? 'Anthropic stream error', raw: data, ...(status ? { status } : {}) }]
      }
      default:
        // ping, and event types Anthropic may add later, carry nothing for us.
        return []
    }
  }

  return jsonEventDecoder('Anthropic', (data, message) => {
    const dataType = typeof data === 'object' && data !== null && 'type' in data ? data.type : undefined
    const type = message.event ?? (typeof dataType === 'string' ? dataType : undefined)
    return decode(type, data)
  })
}

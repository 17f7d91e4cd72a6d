import { nanoToUsd } from '../../catalog/pricing'
import type { GatewayError } from '../../errors'
import type { Renderer, RenderedEvent, StreamWriter } from '../../gateway/renderer'
import { normalizeFinishReason, type AssistantMessage, type Completion, type Delta, type FinishReason, type TokenUsage } from '../canonical'
import { estimatePromptTokens } from '../openai/estimate'
import { argumentsObject, isWholeArguments, type ChatRequest } from '../openai/request'
import { MAX_JSON_DEPTH, nestingDepth } from '../../json-depth'
import type { ResponseMeta, UsageReport } from '../openai/render'
import { blockOrder, placed, sentTexts } from '../block-order'
import { sseEvent } from '../sse'
import { signatureBlocks } from '../gemini/signatures'
import { claudeDetails, claudeThinking, type ClaudeDetail } from './details'

/**
 * Canonical results → Anthropic Messages responses for POST /v1/messages: the message JSON, the
 * named SSE events (`message_start`, `content_block_*`, `message_delta`, `message_stop`, `ping`,
 * `error`) and `{ type: 'error', error: { type, message } }` bodies. Meridian extras the SDKs
 * ignore ride along: `provider`, `usage.cost` (USD) and the error's `metadata`.
 */

const STOP_REASONS: Record<FinishReason, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
  // Not rendered: an error finish is answered as an error (Renderer.errorFinishFails).
  error: 'end_turn',
}
const ANTHROPIC_STOP_REASONS = new Set(['end_turn', 'stop_sequence', 'max_tokens', 'tool_use', 'pause_turn', 'refusal', 'model_context_window_exceeded'])

/** An Anthropic upstream's own word is kept when it means the same; otherwise the canonical one is translated. */
export function stopReason(finish: FinishReason, native: string | null): string {
  return native && ANTHROPIC_STOP_REASONS.has(native) && normalizeFinishReason(native) === finish ? native : STOP_REASONS[finish]
}

/**
 * Which sequence matched: what an Anthropic-format upstream said (the message's or a delta's
 * `stop_sequence`); other upstreams do not say, and with one requested it can only be that one.
 */
function stopSequence(reason: string, request: ChatRequest, said: unknown): string | null {
  if (reason !== 'stop_sequence') return null
  if (typeof said === 'string') return said
  const stops = typeof request.stop === 'string' ? [request.stop] : (request.stop ?? [])
  return stops.length === 1 ? stops[0]! : null
}

export function anthropicUsage({ usage, costNano }: UsageReport) {
  return { ...anthropicCounts(usage), cost: nanoToUsd(costNano) }
}

/** Anthropic's input_tokens excludes cache reads and writes; the canonical prompt count includes them. */
function anthropicCounts(usage: TokenUsage) {
  return {
    input_tokens: Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens),
    output_tokens: usage.completionTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens,
    cache_read_input_tokens: usage.cachedTokens,
    cache_creation: cacheCreation(usage.cacheWriteTokens, usage.cacheWrite1hTokens ?? 0),
  }
}

/** Cache writes by how long they are kept, as Anthropic breaks them down. */
function cacheCreation(written: number, hour: number) {
  return { ephemeral_5m_input_tokens: written - hour, ephemeral_1h_input_tokens: hour }
}

type Block = { type: string; [field: string]: unknown }

function contentBlocks(message: AssistantMessage): Block[] {
  // Claude's thinking keeps its blocks and signatures (in reasoning_details), so a client can send
  // it back to continue a tool-use turn; another model's reasoning has none (the SDK types require the field).
  const thinking = claudeThinking(message.reasoning_details)
  const calls: Block[] = (message.tool_calls ?? []).map((call) => ({ type: 'tool_use', id: call.id, name: call.function.name, input: parseInput(call.function.arguments) }))
  // Claude's interleaved thinking, where it stood: the client sends the turn back as it got it, and Claude refuses it moved (../block-order).
  const order = blockOrder(message)
  const texts = sentTexts(message)
  if (order && texts && thinking.length > 0) {
    const asSent = placed(order, { reasoning: thinking, text: texts.map((text): Block => ({ type: 'text', text })), tool: calls })
    if (asSent) return asSent
  }
  const blocks: Block[] = thinking.length ? thinking : message.reasoning ? [{ type: 'thinking', thinking: message.reasoning, signature: '' }] : []
  // Gemini's signatures of its calls, which it needs back on the next turn.
  blocks.push(...signatureBlocks(message.reasoning_details))
  for (const text of [message.content, message.refusal]) if (text) blocks.push({ type: 'text', text })
  blocks.push(...calls)
  return blocks
}

/**
 * Anthropic's input is always an object: a model's malformed arguments become an empty one, as do
 * arguments nested past MAX_JSON_DEPTH (the runtime's serializer of the answer would overflow on them).
 */
function parseInput(json: string): Record<string, unknown> {
  const input = argumentsObject(json)
  return input && nestingDepth(input) <= MAX_JSON_DEPTH ? input : {}
}

export function renderMessage(meta: ResponseMeta, completion: Completion, report: UsageReport, request: ChatRequest) {
  const reason = stopReason(completion.finishReason, completion.nativeFinishReason)
  return {
    id: meta.id,
    type: 'message',
    role: 'assistant',
    model: meta.model,
    provider: meta.provider,
    content: contentBlocks(completion.message),
    stop_reason: reason,
    stop_sequence: stopSequence(reason, request, completion.message.stop_sequence),
    usage: anthropicUsage(report),
  }
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
}

/** Anthropic answers an overloaded model with 529, which its clients back off from and name. */
const anthropicStatus = (error: GatewayError): number => (error.type === 'provider_overloaded' ? 529 : error.status)

export function anthropicErrorBody(error: GatewayError) {
  const status = anthropicStatus(error)
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')
  const metadata = Object.keys(error.metadata).length ? { metadata: error.metadata } : {}
  return { type: 'error', error: { type, message: anthropicMessage(error), ...metadata } }
}

/**
 * A prompt too long, in Anthropic's words, which Claude Code looks for to compact the conversation
 * (or lower max_tokens): Meridian's own refusal gives its figures that way, and a provider's
 * refusal in other words is prefixed.
 */
function anthropicMessage(error: GatewayError): string {
  if (error.type !== 'context_length_exceeded' || /prompt is too long|exceed context limit/i.test(error.message)) return error.message
  const { prompt_tokens_estimate: prompt, max_tokens: output, max_context_length: window } = error.metadata
  if (typeof prompt !== 'number' || typeof window !== 'number') return `prompt is too long: ${error.message}`
  if (prompt > window || typeof output !== 'number') return `prompt is too long: ${prompt} tokens > ${window} maximum`
  return `input length and \`max_tokens\` exceed context limit: ${prompt} + ${output} > ${window}, decrease input length or \`max_tokens\` and try again`
}

type BlockKind = 'text' | 'thinking' | 'redacted_thinking' | 'tool_use'

/** A streamed tool call: its block once started (null while it waits), and its input so far. */
interface ToolBlock {
  block: number | null
  id: string
  name: string
  args: string
}

/**
 * One streamed message. Anthropic blocks are sequential (start, deltas, stop), while canonical
 * deltas interleave text, reasoning and tool-call fragments; a change of kind closes the open
 * block and starts the next. Usage and the stop reason go out at the end, in message_delta.
 */
export function createMessageStream(meta: ResponseMeta, request: ChatRequest): StreamWriter {
  let started = false
  let failed = false
  let open: BlockKind | null = null
  let blocks = 0
  /** Of the open thinking block, the index of its entries in reasoning_details (Claude's blocks only). */
  let thinkingDetail: number | null = null
  let finish: { reason: FinishReason; native: string | null } = { reason: 'stop', native: null }
  /** The upstream's word on which stop sequence matched (a delta's `stop_sequence`). */
  let matched: unknown = null
  /** The tool calls seen, by canonical index. */
  const calls = new Map<number, ToolBlock>()
  /** The tool call whose block was started last. */
  let current: ToolBlock | null = null
  /** Calls that began while the open call's arguments were not yet whole JSON, in order. */
  const waiting: ToolBlock[] = []
  /** The tool_use blocks some input was sent for. */
  const argued = new Set<number>()
  /** The upstream's counts before the answer opened (an Anthropic-format upstream's message_start). */
  let counted: TokenUsage | null = null

  const start = (): Uint8Array[] => {
    if (started) return []
    started = true
    const message = { id: meta.id, type: 'message', role: 'assistant', model: meta.model, provider: meta.provider, content: [], stop_reason: null, stop_sequence: null }
    // Other upstreams count the input only with their last event: message_start carries the estimate.
    const usage = anthropicCounts(counted ?? { promptTokens: estimatePromptTokens(request), completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 })
    return [sseEvent('message_start', { type: 'message_start', message: { ...message, usage } })]
  }
  const close = (): Uint8Array[] => {
    if (!open) return []
    open = null
    return [sseEvent('content_block_stop', { type: 'content_block_stop', index: blocks - 1 })]
  }
  const begin = (next: BlockKind, contentBlock: Block): Uint8Array[] => {
    const closed = close()
    open = next
    thinkingDetail = null
    const index = blocks++
    return [...closed, sseEvent('content_block_start', { type: 'content_block_start', index, content_block: contentBlock })]
  }
  const delta = (index: number, body: Block) => sseEvent('content_block_delta', { type: 'content_block_delta', index, delta: body })

  const text = (kind: 'text' | 'thinking', value: string | undefined): Uint8Array[] => {
    if (!value) return []
    const opening = open === kind ? [] : begin(kind, kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' })
    const body = kind === 'text' ? { type: 'text_delta', text: value } : { type: 'thinking_delta', thinking: value }
    return [...opening, delta(blocks - 1, body)]
  }

  /**
   * Claude's thinking, block by block as reasoning_details numbers them, with its signatures and
   * redacted blocks; the delta's `reasoning` repeats the same text.
   */
  const claudeBlocks = (details: ClaudeDetail[]): Uint8Array[] =>
    details.flatMap((detail) => {
      if (detail.type === 'reasoning.encrypted') return begin('redacted_thinking', { type: 'redacted_thinking', data: detail.data })
      const opening = open === 'thinking' && thinkingDetail === detail.index ? [] : begin('thinking', { type: 'thinking', thinking: '', signature: '' })
      thinkingDetail = detail.index
      const index = blocks - 1
      return [
        ...opening,
        ...(detail.text ? [delta(index, { type: 'thinking_delta', thinking: detail.text })] : []),
        ...(detail.signature ? [delta(index, { type: 'signature_delta', signature: detail.signature })] : []),
      ]
    })

  const startCall = (call: ToolBlock): Uint8Array[] => {
    const out = begin('tool_use', { type: 'tool_use', id: call.id, name: call.name, input: {} })
    call.block = blocks - 1
    current = call
    if (call.args.trim()) {
      argued.add(call.block)
      out.push(delta(call.block, { type: 'input_json_delta', partial_json: call.args }))
    }
    return out
  }
  const inputOpen = (): boolean => open === 'tool_use' && current !== null && !isWholeArguments(current.args)
  /** Starts the waiting calls, in order: all of them, or (`whileWhole`) while the open call's input is whole. */
  const release = (whileWhole: boolean): Uint8Array[] => {
    const out: Uint8Array[] = []
    while (waiting.length && !(whileWhole && inputOpen())) out.push(...startCall(waiting.shift()!))
    return out
  }

  /**
   * Tool calls, one block each. An upstream that interleaves parallel calls' fragments (some
   * OpenAI-format servers do) would otherwise have a call's block stopped while its input was
   * still coming: a call that begins while the open call's input is not yet a whole JSON object
   * waits, its fragments gathered, until that input is whole, other content comes or the message
   * ends. A fragment that still comes late (after text came between) names its call's block, as
   * Anthropic's index does. Held back, as they change no input: whitespace before a call's first
   * character, whitespace after its whole input once its block stopped, and a late `{}` for a call
   * that streamed nothing (the OpenAI decoder's filler at the finish; Anthropic's clients read a
   * block without input as `{}`), unless more of that call follows it.
   */
  const toolCalls = (fragments: NonNullable<Delta['tool_calls']>): Uint8Array[] =>
    fragments.flatMap((fragment) => {
      const out: Uint8Array[] = []
      let call = calls.get(fragment.index)
      if (!call) {
        call = { block: null, id: fragment.id ?? `toolu_${meta.id}_${fragment.index}`, name: fragment.function?.name ?? '', args: '' }
        calls.set(fragment.index, call)
        if (waiting.length || inputOpen()) waiting.push(call)
        else out.push(...startCall(call))
      }
      const partial = fragment.function?.arguments
      if (!partial) return out
      call.args += partial
      if (call.block === null) return out
      const closed = open !== 'tool_use' || call.block !== blocks - 1
      const blank = partial.trim() === ''
      if (argued.has(call.block)) {
        if (closed && blank && isWholeArguments(call.args)) return out
        out.push(delta(call.block, { type: 'input_json_delta', partial_json: partial }))
      } else {
        // Nothing sent yet: leading whitespace, and a closed block's `{}`, wait for what follows them.
        if (blank || (closed && call.args.trim() === '{}')) return out
        argued.add(call.block)
        out.push(delta(call.block, { type: 'input_json_delta', partial_json: call.args }))
      }
      if (!closed && waiting.length && partial.trimEnd().endsWith('}')) out.push(...release(true))
      return out
    })

  return {
    event(event: RenderedEvent) {
      if (event.type === 'finish') {
        finish = { reason: event.finishReason, native: event.nativeFinishReason }
        return start()
      }
      const { content, refusal, reasoning, reasoning_details, tool_calls, stop_sequence } = event.delta
      if (stop_sequence !== undefined) matched = stop_sequence
      const claude = reasoning_details === undefined ? [] : claudeDetails(reasoning_details)
      const carried = reasoning_details === undefined ? [] : signatureBlocks(reasoning_details)
      // Other content ends the wait of calls held back (above): their blocks come first.
      const released = claude.length || carried.length || reasoning || content || refusal ? release(false) : []
      const thinking = claude.length ? claudeBlocks(claude) : text('thinking', reasoning)
      const signatures = carried.flatMap((block) => begin('redacted_thinking', block))
      return [...start(), ...released, ...thinking, ...signatures, ...text('text', content), ...text('text', refusal), ...toolCalls(tool_calls ?? [])]
    },
    usageSoFar(usage) {
      if (!started) counted = usage
    },
    error(error) {
      failed = true
      return [sseEvent('error', anthropicErrorBody(error))]
    },
    end(report, debug) {
      // After an error event the SDKs stop reading; nothing more is sent.
      if (failed || !report) return []
      const reason = stopReason(finish.reason, finish.native)
      const messageDelta = { type: 'message_delta', delta: { stop_reason: reason, stop_sequence: stopSequence(reason, request, matched) }, usage: anthropicUsage(report), ...debug }
      return [...start(), ...release(false), ...close(), sseEvent('message_delta', messageDelta), sseEvent('message_stop', { type: 'message_stop' })]
    },
  }
}

export const anthropicRenderer: Renderer = {
  json: renderMessage,
  stream: createMessageStream,
  error: (error) => Response.json(anthropicErrorBody(error), { status: anthropicStatus(error), headers: error.headers }),
  keepAlive: sseEvent('ping', { type: 'ping' }),
  errorFinishFails: true,
}

import { blockOrder, placed, sentTexts } from '../block-order'
import { OPENING_TURN } from '../canonical'
import { parseDataUrl } from '../data-url'
import { GatewayError } from '../../errors'
import { claudeStops, mapParameters, type ParameterRule } from '../../providers/parameters'
import { textOf, type ChatRequest, type ContentPart, type Message, toolCallArguments, withRefusalAsContent } from '../openai/request'
import { thinkingBlocks } from './details'
import { applyThinking, applyVerbosity, canThink, reasoningOf, thinkingBlocked } from './thinking'
import { convertTools } from './tools'
import { cacheControl, isThinking, withCache, type Block, type Body, type Turn } from './wire'
import { portableToolId } from '../tool-ids'
import { appendAll } from '../../arrays'

/**
 * Canonical (OpenAI) chat request → Anthropic Messages request body. Anthropic rejects unknown
 * fields, so only what is translated here is sent; parts it cannot express are a 400 rather
 * than a silent loss. Thinking is in thinking.ts, tools in tools.ts.
 */

/** One-to-one parameter renames and clamps (providers/parameters.ts). */
const PARAMETERS: readonly ParameterRule[] = [
  { param: 'stop', to: 'stop_sequences', transform: claudeStops },
  // OpenAI allows up to 2; Anthropic's range is [0, 1].
  { param: 'temperature', min: 0, max: 1 },
  { param: 'top_p' },
  { param: 'top_k' },
  { param: 'user', to: 'metadata.user_id' },
]

export interface AnthropicRequestOptions {
  upstreamModel: string
  /** max_tokens to send: the client's, bounded by the endpoint, or the endpoint's cap. */
  maxTokens: number
  /** The endpoint's output cap, up to which max_tokens may be raised to fit a thinking budget (default: maxTokens). */
  maxTokensCap?: number
  stream: boolean
  /**
   * The interleaved-thinking beta is sent: a budget is the turn's total across its thinking blocks,
   * which may exceed max_tokens, so a client's budget past its max_tokens beside tools goes as sent.
   */
  interleaved?: boolean
}

export interface AnthropicRequest {
  body: Body
  /** The structured-output tool's name, when response_format asked for JSON. */
  jsonTool: string | null
  /** reasoning.exclude: the decoders leave reasoning out of the answer. */
  excludeReasoning: boolean
}

export function toAnthropic(request: ChatRequest, options: AnthropicRequestOptions): AnthropicRequest {
  const { system, messages } = convertMessages(request.messages, canThink(options.upstreamModel))
  const body: Body = { model: options.upstreamModel, max_tokens: options.maxTokens, stream: options.stream }
  if (system.length) body.system = system
  body.messages = messages
  mapParameters(request, PARAMETERS, body)
  const { tools, toolChoice, jsonTool } = convertTools(request)
  if (tools.length) {
    body.tools = tools
    if (toolChoice) body.tool_choice = toolChoice
  }
  const reasoning = reasoningOf(request)
  applyThinking(body, reasoning, {
    upstreamModel: options.upstreamModel,
    maxTokens: options.maxTokens,
    maxTokensCap: options.maxTokensCap ?? options.maxTokens,
    blocked: thinkingBlocked(messages, tools.length ? toolChoice : null),
    interleaved: options.interleaved === true && tools.length > 0,
  })
  applyVerbosity(body, request.verbosity, options.upstreamModel)
  // OpenRouter's top-level cache_control is Anthropic's automatic caching, which takes the same field.
  const automatic = cacheControl(request.cache_control)
  if (automatic) body.cache_control = automatic
  return { body, jsonTool, excludeReasoning: reasoning.exclude }
}

/** `replayThinking`: whether a model that thinks gets a turn's signed thinking back (older ones refuse it). */
function convertMessages(messages: Message[], replayThinking: boolean): { system: Block[]; messages: Turn[] } {
  const system: Block[] = []
  const turns: Turn[] = []
  // Anthropic requires user/assistant alternation, so same-role neighbours become one turn.
  const append = (role: Turn['role'], content: Block[]) => {
    const last = turns.at(-1)
    if (last?.role === role) appendAll(last.content, content)
    else if (content.length) turns.push({ role, content })
  }
  messages.forEach((message, index) => {
    switch (message.role) {
      case 'system':
      case 'developer':
        appendAll(system, markedLast(message, textBlocks(message.content)))
        return
      case 'user':
        return append('user', markedLast(message, named(message.name, userBlocks(message.content, index))))
      case 'assistant':
        return append('assistant', markedLast(message, named(message.name, assistantBlocks(message, index, replayThinking))))
      case 'tool':
        return append('user', markedLast(message, [toolResult(message, index)]))
    }
  })
  // A system prompt alone: Anthropic takes no empty conversation.
  if (turns.length === 0) turns.push({ role: 'user', content: [{ type: 'text', text: OPENING_TURN }] })
  return { system, messages: turns }
}

/**
 * OpenRouter's `cache_control` on a message itself (its AI SDK provider puts it there, on string
 * contents too) marks the message's last block, thinking aside (it takes no mark).
 */
function markedLast(message: Record<string, unknown>, blocks: Block[]): Block[] {
  const mark = cacheControl(message.cache_control)
  let at = blocks.length - 1
  while (at >= 0 && isThinking(blocks[at])) at--
  if (!mark || at < 0) return blocks
  return blocks.map((block, i) => (i === at ? { ...block, cache_control: mark } : block))
}

// Empty text blocks are rejected by Anthropic, so they are dropped.
function textBlocks(content: string | Array<{ type: 'text'; text: string; [key: string]: unknown }>): Block[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : []
  return content.filter((part) => part.text).map((part) => withCache({ type: 'text', text: part.text }, part))
}

function userBlocks(content: string | ContentPart[], index: number): Block[] {
  if (typeof content === 'string') return textBlocks(content)
  return content.flatMap((part, partIndex): Block[] => {
    if (part.type === 'text') return textBlocks([part])
    const where = `messages[${index}].content[${partIndex}]`
    if (part.type === 'image_url') return [withCache(imageBlock(part.image_url.url, where), part)]
    if (part.type === 'file') return [withCache(documentBlock(part.file, where), part)]
    throw new GatewayError(400, 'invalid_request', `${where}: "${part.type}" content parts are not supported by Anthropic models`)
  })
}

/** A file part (OpenRouter's `{ filename, file_data }`) as a document: a PDF's bytes, or a URL Anthropic fetches. */
function documentBlock(file: Record<string, unknown>, where: string): Block {
  const data = typeof file.file_data === 'string' ? file.file_data : ''
  const title = typeof file.filename === 'string' && file.filename ? { title: file.filename } : {}
  const pdf = parseDataUrl(data)
  if (pdf?.mediaType === 'application/pdf') return { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf.data }, ...title }
  if (/^https?:\/\//i.test(data)) return { type: 'document', source: { type: 'url', url: data }, ...title }
  throw new GatewayError(400, 'invalid_request', `${where}: Anthropic models take a file as a PDF base64 data: URL or an http(s) URL in file.file_data`)
}

/**
 * An `image_url` part as an image block, or as a document when it holds a PDF: clients send PDFs
 * that way (OpenRouter reads them so), and Claude refuses a PDF in an image block.
 */
function imageBlock(url: string, where: string): Block {
  const inline = parseDataUrl(url)
  if (inline?.mediaType === 'application/pdf') return { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: inline.data } }
  if (inline) return { type: 'image', source: { type: 'base64', media_type: inline.mediaType, data: inline.data } }
  if (/^https?:\/\/[^?#]*\.pdf(?:[?#]|$)/i.test(url)) return { type: 'document', source: { type: 'url', url } }
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } }
  throw new GatewayError(400, 'invalid_request', `${where}: image_url must be an http(s) URL or a base64 data: URL`)
}

/** A turn's thinking first, then its text, then its calls; or the order the client sent them in, where it interleaved thinking (../block-order). */
function assistantBlocks(turn: Extract<Message, { role: 'assistant' }>, index: number, replayThinking: boolean): Block[] {
  const message = withRefusalAsContent(turn)
  const thinking: Block[] = replayThinking ? thinkingBlocks(message.reasoning_details) : []
  const texts: Block[] = []
  const parts = typeof message.content === 'string' ? (sentTexts(message) ?? [message.content]).map((text) => ({ type: 'text' as const, text })) : (message.content ?? [])
  for (const [partIndex, part] of parts.entries()) {
    const text = part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : undefined
    if (typeof text !== 'string') {
      throw new GatewayError(400, 'invalid_request', `messages[${index}].content[${partIndex}]: "${part.type}" parts are not supported by Anthropic models`)
    }
    if (text) texts.push(withCache({ type: 'text', text }, part))
  }
  const calls = (message.tool_calls ?? []).map((call): Block =>
    withCache({ type: 'tool_use', id: portableToolId(call.id), name: call.function.name, input: toolCallArguments(call.function.arguments, index) }, call),
  )
  const order = blockOrder(message)
  const asSent = order && thinking.length > 0 ? placed(order, { reasoning: thinking, text: texts, tool: calls }) : null
  return asSent ?? [...thinking, ...texts, ...calls]
}


/**
 * A result's text goes as a string; with images or files it goes as blocks, as a user turn's. Its
 * cache mark (its parts' last) goes on the result itself: Anthropic refuses one inside
 * `tool_result.content` ("place it directly on tool_result").
 */
function toolResult(message: Extract<Message, { role: 'tool' }>, index: number): Block {
  const { content } = message
  const failed = message.is_error ? { is_error: true } : {}
  const withBlocks = typeof content !== 'string' && content.some((part) => part.type !== 'text')
  const inner = withBlocks ? userBlocks(content, index).map(({ cache_control: _mark, ...block }) => block) : textOf(content)
  const block: Block = { type: 'tool_result', tool_use_id: portableToolId(message.tool_call_id), content: inner, ...failed }
  const cached = typeof content === 'string' ? undefined : content.filter((part) => cacheControl(part.cache_control)).at(-1)
  return cached ? withCache(block, cached) : block
}

/** `name` has no Anthropic field; prefixing keeps multi-party transcripts readable to the model. */
function named(name: string | undefined, blocks: Block[]): Block[] {
  if (!name) return blocks
  const first = blocks.findIndex((block) => block.type === 'text')
  if (first >= 0) return blocks.map((block, i) => (i === first ? { ...block, text: `${name}: ${block.text ?? ''}` } : block))
  // Thinking blocks must stay first.
  const at = blocks.findIndex((block) => !isThinking(block))
  const split = at < 0 ? blocks.length : at
  return [...blocks.slice(0, split), { type: 'text', text: `${name}:` }, ...blocks.slice(split)]
}

import * as z from 'zod'
import { GatewayError } from '../../errors'
import { ProviderPreferences } from '../../routing/preferences'
import { isInterleaved, withBlockOrder, type BlockKind } from '../block-order'
import { carriedSignature } from '../gemini/signatures'
import { ChatRequest, FallbackModels, ModelId, ToolName, type ContentPart, type Message, type Tool, type ToolCall, type ToolChoice } from '../openai/request'
import { appendAll } from '../../arrays'

/**
 * Anthropic Messages requests as clients send them to POST /v1/messages (the Anthropic SDK, Claude
 * Code), validated at the boundary, and their conversion to the canonical (OpenAI) request, so
 * any catalog model can answer them. `cache_control` markers stay on the canonical parts, where
 * the Anthropic upstream converter picks them up again.
 */

const CacheControl = z.looseObject({ type: z.string() })
const cache = { cache_control: CacheControl.nullish() }

const TextBlock = z.object({ type: z.literal('text'), text: z.string(), ...cache })
const ImageBlock = z.object({
  type: z.literal('image'),
  source: z.discriminatedUnion('type', [
    z.object({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string().min(1) }),
    z.object({ type: z.literal('url'), url: z.string().min(1) }),
  ]),
  ...cache,
})
/** A PDF (bytes or URL) or plain text the model should read. */
const DocumentBlock = z.object({
  type: z.literal('document'),
  source: z.discriminatedUnion('type', [
    z.object({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string().min(1) }),
    z.object({ type: z.literal('url'), url: z.string().min(1) }),
    z.object({ type: z.literal('text'), media_type: z.string().nullish(), data: z.string() }),
  ]),
  title: z.string().nullish(),
  context: z.string().nullish(),
  citations: z.looseObject({}).nullish(),
  ...cache,
})
const ToolUseBlock = z.object({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
  ...cache,
})
const ToolResultBlock = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  // Claude Code's Read tool answers with a PDF as a document block.
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [TextBlock, ImageBlock, DocumentBlock]))]).optional(),
  is_error: z.boolean().optional(),
  ...cache,
})
const ThinkingBlock = z.object({ type: z.literal('thinking'), thinking: z.string(), signature: z.string().optional() })
const RedactedThinkingBlock = z.object({ type: z.literal('redacted_thinking'), data: z.string() })

const UserBlock = z.discriminatedUnion('type', [TextBlock, ImageBlock, DocumentBlock, ToolResultBlock])
const AssistantBlock = z.discriminatedUnion('type', [TextBlock, ToolUseBlock, ThinkingBlock, RedactedThinkingBlock])
type UserBlock = z.infer<typeof UserBlock>
type AssistantBlock = z.infer<typeof AssistantBlock>

const CustomTool = z.object({
  type: z.literal('custom').optional(),
  name: ToolName,
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()),
  ...cache,
})
/**
 * Anthropic's server and client tools (`web_search_20250305`, `bash_20250124`, …) run at Anthropic
 * or need its tool use protocol: any other provider would be handed a tool it cannot run, and
 * their prices are not in the catalog. They are refused by name rather than as a schema mismatch.
 */
const AnthropicTool = z.preprocess((tool, ctx) => {
  const type = typeof tool === 'object' && tool !== null && 'type' in tool ? tool.type : undefined
  if (typeof type !== 'string' || type === 'custom') return tool
  ctx.addIssue({
    code: 'custom',
    path: ['type'],
    message: `Tools of type ${JSON.stringify(type.slice(0, 64))} (Anthropic's server and client tools) are not supported: give each tool a name and an input_schema`,
  })
  return z.NEVER
}, CustomTool)

const parallel = { disable_parallel_tool_use: z.boolean().optional() }
const AnthropicToolChoice = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auto'), ...parallel }),
  z.object({ type: z.literal('any'), ...parallel }),
  z.object({ type: z.literal('tool'), name: z.string().min(1), ...parallel }),
  z.object({ type: z.literal('none') }),
])

/**
 * Structured outputs (`format`) and how much effort the model spends. Served as the canonical
 * `response_format`, and `reasoning.effort` with adaptive thinking or else OpenRouter's
 * `verbosity` (Claude's effort, OpenAI's verbosity), so every provider gets them in its own terms.
 */
const OutputConfig = z.object({
  effort: z.enum(['low', 'medium', 'high', 'xhigh', 'max']).nullish(),
  format: z.object({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).nullish(),
})

/** `summarized`, `omitted`, or a newer one (`updates`, with its beta): passed on as sent. */
const ThinkingDisplay = z.string().nullish()
const Thinking = z.discriminatedUnion('type', [
  z.object({ type: z.literal('enabled'), budget_tokens: z.number().int().positive(), display: ThinkingDisplay }),
  z.object({ type: z.literal('disabled') }),
  z.object({ type: z.literal('adaptive'), display: ThinkingDisplay }),
])

/** Unknown top-level fields (service_tier, container, …) are dropped: no canonical meaning. */
export const MessagesRequest = z.object({
  model: ModelId,
  max_tokens: z.number().int().positive(),
  messages: z
    .array(
      z.discriminatedUnion('role', [
        z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(UserBlock)]) }),
        z.object({ role: z.literal('assistant'), content: z.union([z.string(), z.array(AssistantBlock)]) }),
      ]),
    )
    .min(1)
    .superRefine((messages, ctx) => {
      // As Anthropic: only a final assistant turn (a prefill to continue) may be empty.
      messages.forEach((message, index) => {
        const last = index === messages.length - 1 && message.role === 'assistant'
        if (message.content.length === 0 && !last) {
          ctx.addIssue({ code: 'custom', path: [index, 'content'], message: 'must not be empty: only the final assistant turn may be' })
        }
      })
    }),
  system: z.union([z.string(), z.array(TextBlock)]).nullish(),
  tools: z.array(AnthropicTool).nullish(),
  tool_choice: AnthropicToolChoice.nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  temperature: z.number().min(0).max(1).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  metadata: z.object({ user_id: z.string().max(256).nullish() }).nullish(),
  stream: z.boolean().nullish(),
  thinking: Thinking.nullish(),
  output_config: OutputConfig.nullish(),
  /** Top-level automatic prompt caching. */
  cache_control: CacheControl.nullish(),
  // OpenRouter's gateway extras work on this route too; `fallbacks` is its Messages skin's spelling of `models`.
  models: FallbackModels.nullish(),
  fallbacks: z.array(z.object({ model: ModelId })).min(1).max(3).nullish(),
  provider: ProviderPreferences.nullish(),
  /** OpenRouter: a preset's slug (routing/presets.ts). */
  preset: z.string().nullish(),
  /** OpenRouter plugins, as on chat completions (context compression, the auto router's pool). */
  plugins: ChatRequest.shape.plugins,
})
export type MessagesRequest = z.infer<typeof MessagesRequest>

/**
 * POST /messages/count_tokens: a Messages request without `max_tokens` (Anthropic's count takes
 * none; one sent anyway is accepted, and dropped).
 */
export const CountTokensRequest = MessagesRequest.extend({ max_tokens: z.number().int().positive().nullish() })
export type CountTokensRequest = z.infer<typeof CountTokensRequest>

/**
 * Claude Code (2.1.29 on) opens its system prompt with a line of its own, `x-anthropic-billing-header:
 * cc_version=…; cc_entrypoint=cli; cch=<hash of the body>;`, different on every request. It means
 * nothing to a model, and sent on it would make every turn's prompt new to the provider's prefix
 * cache (and to sticky routing's key), so it is dropped: a block that is only that line, or that
 * line at the start of a string.
 */
const BILLING_LINE = /^x-anthropic-billing-header:[^\n]*(?:\n|$)/

function systemPrompt(system: MessagesRequest['system']): Message | null {
  if (typeof system === 'string') {
    const text = system.replace(BILLING_LINE, '')
    return text.length > 0 ? { role: 'system', content: text } : null
  }
  const blocks = (system ?? []).flatMap((block) => {
    if (!BILLING_LINE.test(block.text)) return [textPart(block)]
    const text = block.text.replace(BILLING_LINE, '')
    return text ? [textPart({ ...block, text })] : []
  })
  return blocks.length > 0 ? { role: 'system', content: blocks } : null
}

export function fromAnthropicRequest(request: CountTokensRequest): ChatRequest {
  const messages: Message[] = []
  const system = systemPrompt(request.system)
  if (system) messages.push(system)
  for (const turn of request.messages) {
    if (turn.role === 'user') appendAll(messages, fromUserTurn(turn.content))
    else messages.push(fromAssistantTurn(turn.content))
  }
  const chat: ChatRequest = { model: request.model, messages, stream: request.stream ?? false }
  if (request.max_tokens != null) chat.max_tokens = request.max_tokens
  if (request.stop_sequences?.length) chat.stop = request.stop_sequences
  if (request.temperature != null) chat.temperature = request.temperature
  if (request.top_p != null) chat.top_p = request.top_p
  if (request.top_k != null) chat.top_k = request.top_k
  if (request.metadata?.user_id) chat.user = request.metadata.user_id
  if (request.tools?.length) chat.tools = request.tools.map(toolOf)
  if (request.tool_choice) {
    chat.tool_choice = toolChoiceOf(request.tool_choice)
    if ('disable_parallel_tool_use' in request.tool_choice && request.tool_choice.disable_parallel_tool_use) chat.parallel_tool_calls = false
  }
  const format = request.output_config?.format
  // Not strict: Anthropic's schemas may leave properties optional, which OpenAI's strict mode refuses.
  if (format) chat.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema } }
  const effort = request.output_config?.effort
  const reasoning = reasoningOf(request.thinking, effort)
  if (reasoning) chat.reasoning = reasoning
  if (effort && request.thinking?.type !== 'adaptive') chat.verbosity = effort
  if (request.cache_control) chat.cache_control = request.cache_control
  if (request.models && request.fallbacks) throw new GatewayError(400, 'invalid_request', 'Invalid request: give fallbacks or models, not both')
  const fallbacks = request.models ?? request.fallbacks?.map((fallback) => fallback.model)
  if (fallbacks) chat.models = fallbacks
  if (request.provider) chat.provider = request.provider
  if (request.preset != null) chat.preset = request.preset
  if (request.plugins) chat.plugins = request.plugins
  return chat
}

/**
 * OpenRouter's unified `reasoning` parameter is the canonical spelling of extended thinking; an
 * adaptive model's `output_config.effort` is its effort. Beside a budget, or without thinking, the
 * effort is `verbosity` instead (on Anthropic's API it does not turn thinking on, which the
 * canonical effort would). `disabled` is said rather than left unsaid, so that a preset's
 * reasoning does not turn it back on.
 */
function reasoningOf(thinking: MessagesRequest['thinking'], effort: string | null | undefined): ChatRequest['reasoning'] {
  switch (thinking?.type) {
    case 'enabled':
      return { max_tokens: thinking.budget_tokens, ...displayOf(thinking) }
    case 'adaptive':
      return { enabled: true, ...(effort ? { effort } : {}), ...displayOf(thinking) }
    case 'disabled':
      return { enabled: false }
    default:
      return undefined
  }
}

/** The client's display, or null for the model's default (src/formats/anthropic/thinking.ts). */
function displayOf(thinking: { display?: string | null }): { display: string | null } {
  return { display: thinking.display ?? null }
}

function withCache<Part extends object>(part: Part, block: { cache_control?: unknown }): Part {
  return block.cache_control == null ? part : { ...part, cache_control: block.cache_control }
}

function markOf(part: object): unknown {
  return 'cache_control' in part ? part.cache_control : undefined
}

function textPart(block: z.infer<typeof TextBlock>): { type: 'text'; text: string } {
  return withCache({ type: 'text' as const, text: block.text }, block)
}

function imagePart(block: z.infer<typeof ImageBlock>): ContentPart {
  const { source } = block
  const url = source.type === 'base64' ? `data:${source.media_type};base64,${source.data}` : source.url
  return withCache({ type: 'image_url' as const, image_url: { url } }, block)
}

/**
 * A document as OpenRouter's file part (`{ filename, file_data }`: a data URL or a URL), its
 * `context` (which Claude reads beside it) as a text part before it; plain text as text, headed by
 * its title and context. Citations are not carried.
 */
function documentParts(block: z.infer<typeof DocumentBlock>): ContentPart[] {
  const { source } = block
  if (source.type === 'text') {
    const heading = [block.title, block.context].filter((line) => line).join('\n')
    return [withCache({ type: 'text' as const, text: heading ? `${heading}\n\n${source.data}` : source.data }, block)]
  }
  const fileData = source.type === 'base64' ? `data:${source.media_type};base64,${source.data}` : source.url
  // OpenAI-format upstreams want a filename with the bytes.
  const filename = block.title ?? (source.type === 'base64' && source.media_type === 'application/pdf' ? 'document.pdf' : 'document')
  const file = withCache({ type: 'file' as const, file: { filename, file_data: fileData } }, block)
  return block.context ? [{ type: 'text' as const, text: block.context }, file] : [file]
}

/**
 * OpenAI wants each tool result as its own `tool` message straight after the assistant's calls,
 * and Anthropic puts them first in the next user turn: so results become tool messages (their
 * images and documents with them, in order), and the rest of the turn follows as one user message.
 */
function fromUserTurn(content: string | UserBlock[]): Message[] {
  if (typeof content === 'string') return [{ role: 'user', content }]
  const toolMessages: Message[] = []
  const parts: ContentPart[] = []
  for (const block of content) {
    if (block.type === 'text') parts.push(textPart(block))
    else if (block.type === 'image') parts.push(imagePart(block))
    else if (block.type === 'document') appendAll(parts, documentParts(block))
    else {
      const result = block.content ?? ''
      const blocks = typeof result === 'string' ? [{ type: 'text' as const, text: result }] : result
      const inner: ContentPart[] = []
      for (const next of blocks.flatMap((part) => (part.type === 'text' ? [textPart(part)] : part.type === 'image' ? [imagePart(part)] : documentParts(part)))) {
        // Neighbouring texts read as one, a line apart, as a text-only result's do (joined), marked
        // or not: a result is sent alike whether or not it holds the breakpoint (else the prefix
        // Anthropic cached with it is not the one sent the turn after).
        const last = inner.at(-1)
        if (next.type === 'text' && last?.type === 'text') inner[inner.length - 1] = withCache({ type: 'text' as const, text: `${last.text}\n${next.text}` }, { cache_control: markOf(next) ?? markOf(last) })
        else inner.push(next)
      }
      if (block.cache_control != null) inner.push(withCache(inner.pop() ?? { type: 'text' as const, text: '' }, block))
      const texts = inner.flatMap((part) => (part.type === 'text' && !('cache_control' in part) ? [part] : []))
      const failed = block.is_error ? { is_error: true } : {}
      toolMessages.push({ role: 'tool', tool_call_id: block.tool_use_id, content: texts.length === inner.length ? joined(texts) : inner, ...failed })
    }
  }
  return parts.length ? [...toolMessages, { role: 'user', content: parts }] : toolMessages
}

/** Thinking goes both ways: `reasoning` for its text, OpenRouter's `reasoning_details` to keep signatures. */
function fromAssistantTurn(content: string | AssistantBlock[]): Message {
  if (typeof content === 'string') return { role: 'assistant', content }
  const texts: Array<{ type: 'text'; text: string }> = []
  const toolCalls: ToolCall[] = []
  const details: Array<Record<string, unknown>> = []
  for (const block of content) {
    if (block.type === 'text') texts.push(textPart(block))
    else if (block.type === 'tool_use') {
      // Claude Code marks the last block of its last assistant turn, often a call, as a cache breakpoint.
      toolCalls.push(withCache({ id: block.id, type: 'function' as const, function: { name: block.name, arguments: JSON.stringify(block.input) } }, block))
    } else if (block.type === 'thinking') {
      details.push({ type: 'reasoning.text', text: block.thinking, signature: block.signature ?? null, format: 'anthropic-claude-v1', index: details.length })
    } else {
      // A redacted block may carry a Gemini call's signature (gemini/signatures.ts), else it is Claude's.
      const carried = carriedSignature(block.data, details.length)
      details.push(carried ? { ...carried } : { type: 'reasoning.encrypted', data: block.data, format: 'anthropic-claude-v1', index: details.length })
    }
  }
  const mark = texts.filter((part) => 'cache_control' in part).at(-1)
  const cached = mark !== undefined
  // Interleaved thinking goes back to Claude as it came (../block-order).
  const kinds = content.map((block): BlockKind => (block.type === 'text' ? 'text' : block.type === 'tool_use' ? 'tool' : 'reasoning'))
  const interleaved = isInterleaved(kinds)
  // No text: null beside tool calls, else "" (chat upstreams take null only beside calls; an empty final turn is a prefill of nothing).
  const text = texts.length ? joined(texts) : null
  // Marked or not, the texts go as one, so the turn is sent alike whether or not it holds the
  // breakpoint (the prefix Anthropic cached must be the one sent the turn after); an interleaved
  // turn's texts keep their blocks, which its order places.
  const marked = text !== null && mark ? (interleaved ? texts : [withCache({ type: 'text' as const, text }, mark)]) : null
  const message: Message = { role: 'assistant', content: marked ?? text ?? (toolCalls.length ? null : '') }
  if (toolCalls.length) message.tool_calls = toolCalls
  const reasoning = content.flatMap((block) => (block.type === 'thinking' ? [block.thinking] : [])).join('')
  if (reasoning) message.reasoning = reasoning
  if (details.length) message.reasoning_details = details
  if (!interleaved) return message
  return withBlockOrder(message, text !== null && !cached ? { kinds, texts: { blocks: texts.map((part) => part.text), joined: text } } : { kinds })
}

/** Blocks made one text keep a line between them, so "part A" and "part B" do not read "part Apart B". */
function joined(texts: Array<{ text: string }>): string {
  return texts.map((part) => part.text).join('\n')
}

/** A tool's `cache_control` (Claude Code marks its last tool) caches the definitions up to it, as on Anthropic's API. */
function toolOf(tool: z.infer<typeof AnthropicTool>): Tool {
  const described = tool.description ? { description: tool.description } : {}
  return withCache({ type: 'function' as const, function: { name: tool.name, ...described, parameters: tool.input_schema } }, tool)
}

function toolChoiceOf(choice: z.infer<typeof AnthropicToolChoice>): ToolChoice {
  switch (choice.type) {
    case 'auto':
      return 'auto'
    case 'any':
      return 'required'
    case 'none':
      return 'none'
    case 'tool':
      return { type: 'function', function: { name: choice.name } }
  }
}

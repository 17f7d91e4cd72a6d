import { blockOrder, placed, sentTexts } from '../block-order'
import { OPENING_TURN } from '../canonical'
import { parseDataUrl } from '../data-url'
import { GatewayError } from '../../errors'
import { claudeStops, mapParameters, stopList, type ParameterRule } from '../../providers/parameters'
import { jsonTool } from '../json-tool'
import { historyTools } from '../openai/functions'
import { textOf, type ChatRequest, type ContentPart, type Message, type ToolChoice, toolCallArguments, withRefusalAsContent } from '../openai/request'
import { canThink } from '../anthropic/thinking'
import { applyClaudeFields, isClaude, reasoningBlocks, type ClaudeOptions } from './claude'
import { portableToolId } from '../tool-ids'
import { objectSchema } from '../tool-schema'
import { appendAll } from '../../arrays'

/**
 * Canonical (OpenAI) chat request → Bedrock Converse body. System and developer messages become
 * `system`; the rest become `messages` whose roles alternate user/assistant (Converse rejects two
 * turns of one role, so neighbours merge). The model goes in the URL, so the body has none.
 * Claude's own fields (top_k, thinking, its signed reasoning replayed) are in claude.ts.
 */

type Body = Record<string, unknown>
type Block = Record<string, unknown>
type Turn = { role: 'user' | 'assistant'; content: Block[] }

/** OpenAI sampling parameters → `inferenceConfig`; Converse takes a temperature up to 1, OpenAI's goes to 2. */
const INFERENCE: readonly ParameterRule[] = [
  { param: 'temperature', max: 1 },
  { param: 'top_p', to: 'topP' },
  { param: 'stop', to: 'stopSequences', transform: stopList },
]
/** Claude on Bedrock refuses whitespace-only stop sequences as on Anthropic's API. */
const CLAUDE_INFERENCE = INFERENCE.map((rule): ParameterRule => (rule.param === 'stop' ? { ...rule, transform: claudeStops } : rule))

/** Converse's document formats by MIME type. */
const DOCUMENT_FORMATS: Record<string, string> = {
  'application/pdf': 'pdf',
  'text/csv': 'csv',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'text/html': 'html',
  'text/plain': 'txt',
  'text/markdown': 'md',
}
const IMAGE_FORMATS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' }

export interface BedrockOptions {
  /** max_tokens the client asked for, bounded by the endpoint; none leaves Bedrock's default. */
  maxTokens?: number
  /** Set when the model is Claude (claude.ts's isClaude): its own fields are sent too. */
  claude?: ClaudeOptions
  /**
   * The model takes a forced tool (`toolChoice.tool`: Claude and Nova), so `response_format` goes
   * as one (../json-tool.ts); other models would refuse the request, and get none.
   */
  jsonTool?: boolean
  /** The model takes `toolChoice.any` (takesAnyTool); to others a tool choice but `auto` is not sent. */
  anyTool?: boolean
  /** The model caches prompts (cachesPrompts): `cache_control` markers become cache points. */
  caching?: boolean
  /** The model keeps a cache for an hour (cachesForAnHour): a marker's `ttl: "1h"` is sent. */
  hourCaching?: boolean
}

/** Where the prompt up to here is cached, as a `cache_control` marker asks (system, content, tools). */
const isCachePoint = (block: Block) => 'cachePoint' in block
const markerOf = (part: unknown): { ttl?: unknown } | null => {
  const marker = typeof part === 'object' && part !== null && 'cache_control' in part ? (part as { cache_control: unknown }).cache_control : null
  return typeof marker === 'object' && marker !== null ? marker : null
}
/** The cache point a part's marker asks for (null: none, or the model caches nothing). */
type CachePoints = (part: unknown) => Block | null

function cachePoints(options: BedrockOptions): CachePoints {
  return (part) => {
    const marker = options.caching === true ? markerOf(part) : null
    if (!marker) return null
    return { cachePoint: { type: 'default', ...(options.hourCaching === true && marker.ttl === '1h' ? { ttl: '1h' } : {}) } }
  }
}

/** Converse caches prompts for Claude (3.5 Haiku, and 3.7 and later: the models that think) and Nova; others refuse cache points. */
export function cachesPrompts(upstreamModel: string): boolean {
  return (isClaude(upstreamModel) && (canThink(upstreamModel) || /claude-3-5-haiku/.test(upstreamModel))) || /amazon\.nova/i.test(upstreamModel)
}

/** Claude 4.5 and later keep a cache point for an hour on Converse (`ttl: "1h"`); others for five minutes. */
export function cachesForAnHour(upstreamModel: string): boolean {
  return /claude-(?:(?:opus|sonnet|haiku)-4-[5-9]|(?:opus|sonnet|haiku)-[5-9])/.test(upstreamModel)
}

/** Converse takes `toolChoice.tool` only for Claude and Nova models. */
export function takesForcedTool(upstreamModel: string): boolean {
  return isClaude(upstreamModel) || /amazon\.nova/i.test(upstreamModel)
}

/** Converse takes `toolChoice.any` for those and Mistral Large; others refuse it ("doesn't support the toolConfig.toolChoice.any field"). */
export function takesAnyTool(upstreamModel: string): boolean {
  return takesForcedTool(upstreamModel) || /mistral\.mistral-large/i.test(upstreamModel)
}

export function toBedrock(request: ChatRequest, options: BedrockOptions = {}): Body {
  // Thinking blocks are replayed only to a Claude that thinks.
  const replaysReasoning = options.claude !== undefined && canThink(options.claude.upstreamModel)
  const system: Block[] = []
  const messages: Turn[] = []
  const documentNames = new Set<string>()
  const pointOf = cachePoints(options)
  const append = (role: Turn['role'], content: Block[]) => {
    const last = messages.at(-1)
    // Claude wants a turn's reasoning first, also when two assistant messages merge.
    if (last?.role === role) last.content = role === 'assistant' ? reasoningFirst([...last.content, ...content]) : [...last.content, ...content]
    else if (content.length) messages.push({ role, content })
  }
  // A result's images and documents stay inside it for Claude and Nova; other models get them after the run of results.
  let media: Block[] = []
  request.messages.forEach((message, index) => {
    if (message.role !== 'tool' && media.length) {
      append('user', media)
      media = []
    }
    switch (message.role) {
      case 'system':
      case 'developer':
        appendAll(system, systemBlocks(message.content, pointOf))
        return
      case 'user':
        return append('user', withSpeaker(message.name, userBlocks(message.content, index, documentNames, pointOf)))
      case 'assistant':
        return append('assistant', withSpeaker(message.name, assistantBlocks(message, index, pointOf, replaysReasoning ? reasoningBlocks(message.reasoning_details) : [])))
      case 'tool': {
        // Converse takes a result's `status` (and its media) from Claude and Nova only, the models that take a forced tool.
        const blocks = userBlocks(message.content, index, documentNames, pointOf)
        // A result holds no cache point: one marked inside it goes after it.
        const content = blocks.filter((block) => !isCachePoint(block))
        const point = blocks.find(isCachePoint)
        const inside = options.jsonTool === true ? content : content.filter((block) => 'text' in block)
        if (inside !== content) appendAll(media, content.filter((block) => !('text' in block)))
        const after = point ? [point] : []
        return append('user', [toolResultBlock(message.tool_call_id, inside, message.is_error === true && options.jsonTool === true), ...after])
      }
    }
  })
  append('user', media)
  // "A conversation must start with a user message": a chat that opens with the assistant's
  // greeting, or holds only a system prompt, which OpenAI and Claude take, gets a user turn first.
  if (messages[0]?.role !== 'user') messages.unshift({ role: 'user', content: [{ text: OPENING_TURN }] })
  for (const turn of messages) if (turn.role === 'user') withDocumentsAnchored(turn)
  const body: Body = {}
  if (system.length) body.system = system
  body.messages = messages
  const inferenceConfig = mapParameters(request, options.claude ? CLAUDE_INFERENCE : INFERENCE, options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens })
  if (Object.keys(inferenceConfig).length) body.inferenceConfig = inferenceConfig
  // Converse takes cache points among tools from Claude only (Nova: system and messages).
  // Claude takes every choice; a model that takes a named tool takes any tool.
  const named = options.jsonTool === true || options.claude !== undefined
  const toolConfig = bedrockTools(request, { named, any: named || options.anyTool === true }, options.claude !== undefined ? pointOf : () => null)
  if (toolConfig) body.toolConfig = toolConfig
  if (options.claude) applyClaudeFields(request, body, { ...options.claude, maxTokens: options.maxTokens })
  return body
}

function userBlocks(content: string | ContentPart[], index: number, documentNames: Set<string>, pointOf: CachePoints = () => null): Block[] {
  if (typeof content === 'string') return content ? [{ text: content }] : []
  return content.flatMap((part, partIndex): Block[] => {
    const block = partBlock(part, `messages[${index}].content[${partIndex}]`, documentNames)
    const point = block && pointOf(part)
    return block ? [block, ...(point ? [point] : [])] : []
  })
}

function partBlock(part: ContentPart, where: string, documentNames: Set<string>): Block | null {
  if (part.type === 'text') return part.text ? { text: part.text } : null
  if (part.type === 'image_url') return mediaBlock(part.image_url.url, where, documentNames)
  if (part.type === 'file') return documentBlock(part.file, where, documentNames)
  throw new GatewayError(400, 'invalid_request', `${where}: "${part.type}" parts are not supported by Bedrock Converse models`)
}

/** An `image_url` part holding a PDF (as clients send one) is a document, which Converse refuses as an image. */
function mediaBlock(url: string, where: string, documentNames: Set<string>): Block {
  if (parseDataUrl(url)?.mediaType === 'application/pdf') return documentBlock({ file_data: url }, where, documentNames)
  return imageBlock(url, where)
}

// Converse takes image bytes only (or S3 locations); it does not fetch http(s) URLs.
function imageBlock(url: string, where: string): Block {
  const inline = parseDataUrl(url)
  if (!inline) throw new GatewayError(400, 'invalid_request', `${where}: Bedrock Converse takes images only as base64 data: URLs, not http(s) URLs`)
  const format = IMAGE_FORMATS[inline.mediaType]
  if (!format) throw new GatewayError(400, 'invalid_request', `${where}: image type "${inline.mediaType}" is not supported by Bedrock Converse (png, jpeg, gif, webp)`)
  // Refused here, as a URL is, so that another endpoint of the model (Anthropic's takes 5 MB) serves it.
  if (base64Bytes(inline.data) > MAX_IMAGE_BYTES) throw new GatewayError(400, 'invalid_request', `${where}: the image is larger than Bedrock Converse takes (3.75 MB)`)
  return { image: { format, source: { bytes: inline.data } } }
}

/** Converse's ImageBlock: at most 3.75 MB of image bytes. */
const MAX_IMAGE_BYTES = 3_750_000

/** The bytes base64 text decodes to (padding aside). */
function base64Bytes(data: string): number {
  return Math.floor((data.replace(/=+$/, '').length * 3) / 4)
}

/**
 * A file part (OpenRouter's `{ filename, file_data }`, as /v1/messages documents arrive) as a
 * Converse document: bytes only (Converse reads S3, not http URLs), in one of its formats, under a
 * name of the characters it allows, unique within the request.
 */
function documentBlock(file: Record<string, unknown>, where: string, names: Set<string>): Block {
  const inline = parseDataUrl(typeof file.file_data === 'string' ? file.file_data : '')
  if (!inline) throw new GatewayError(400, 'invalid_request', `${where}: Bedrock Converse takes a file only as a base64 data: URL in file.file_data`)
  const format = DOCUMENT_FORMATS[inline.mediaType]
  if (!format) {
    throw new GatewayError(400, 'invalid_request', `${where}: file type "${inline.mediaType}" is not supported by Bedrock Converse (${Object.values(DOCUMENT_FORMATS).join(', ')})`)
  }
  return { document: { format, name: documentName(file.filename, names), source: { bytes: inline.data } } }
}

/** Converse allows letters, digits, single spaces, hyphens, parentheses and square brackets in a name, up to 200. */
function documentName(filename: unknown, names: Set<string>): string {
  const stem = typeof filename === 'string' ? filename.replace(/\.[A-Za-z0-9]{1,5}$/, '') : ''
  // At most 200 characters, the ` (n)` of a repeated name included.
  const base = stem.replace(/[^A-Za-z0-9\s()[\]-]+/g, ' ').replace(/\s+/g, ' ').slice(0, 190).trim() || 'document'
  let name = base
  for (let n = 2; names.has(name); n++) name = `${base} (${n})`
  names.add(name)
  return name
}

function reasoningFirst(blocks: Block[]): Block[] {
  return [...blocks.filter((block) => 'reasoningContent' in block), ...blocks.filter((block) => !('reasoningContent' in block))]
}

/**
 * A result holds text, images and documents as a user turn does (Converse refuses empty text
 * blocks, in a tool result too). A failed call's result (Anthropic's `is_error`) has Converse's
 * `status: "error"` where the model takes it.
 */
function toolResultBlock(toolUseId: string, content: Block[], failed: boolean): Block {
  return { toolResult: { toolUseId: portableToolId(toolUseId), content, ...(failed ? { status: 'error' } : {}) } }
}

/**
 * Converse refuses documents in a message without text. Documents beside the turn's one tool
 * result go inside it, which Converse allows (a result's own documents are there already);
 * otherwise (no result, or several) a text block names them. A tool result left empty says so.
 */
function withDocumentsAnchored(turn: Turn): void {
  const documents = turn.content.filter((block) => 'document' in block)
  const results = turn.content.flatMap((block) => (block.toolResult ? [block.toolResult as { content: Block[] }] : []))
  if (documents.length && !turn.content.some((block) => 'text' in block)) {
    const [result, ...others] = results
    if (result && others.length === 0) {
      appendAll(result.content, documents)
      turn.content = turn.content.filter((block) => !('document' in block))
    } else {
      const names = documents.map((block) => (block.document as { name: string }).name)
      turn.content.push({ text: `Attached: ${names.join(', ')}` })
    }
  }
  for (const result of results) if (!result.content.length) result.content.push({ text: '(no output)' })
}

type AssistantPart = Exclude<Extract<Message, { role: 'assistant' }>['content'], string | null | undefined>[number]

/** `name` has no Converse field; prefixing keeps multi-party transcripts readable to the model (as OpenRouter does). */
function withSpeaker(name: string | undefined, blocks: Block[]): Block[] {
  if (!name) return blocks
  const first = blocks.findIndex((block) => typeof block.text === 'string')
  if (first >= 0) return blocks.map((block, i) => (i === first ? { ...block, text: `${name}: ${String(block.text)}` } : block))
  // Reasoning stays first.
  const at = blocks.findIndex((block) => !('reasoningContent' in block))
  const split = at < 0 ? blocks.length : at
  return [...blocks.slice(0, split), { text: `${name}:` }, ...blocks.slice(split)]
}

/**
 * A turn's reasoning first, then its text (one block), then its calls; or, where the client
 * interleaved Claude's thinking (../block-order), each block where it was sent, as Claude requires.
 */
function assistantBlocks(turn: Extract<Message, { role: 'assistant' }>, index: number, pointOf: CachePoints, reasoning: Block[]): Block[] {
  const message = withRefusalAsContent(turn)
  const partText = (part: AssistantPart): string => {
    const text = part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : ''
    return typeof text === 'string' ? text : ''
  }
  const calls = (message.tool_calls ?? []).map((call) => {
    const toolUse = { toolUse: { toolUseId: portableToolId(call.id), name: call.function.name, input: toolCallArguments(call.function.arguments, index) } }
    const point = pointOf(call)
    return point ? [toolUse, point] : [toolUse]
  })
  const parts: AssistantPart[] = typeof message.content === 'string' ? (sentTexts(message) ?? [message.content]).map((text) => ({ type: 'text', text })) : (message.content ?? [])
  const order = blockOrder(message)
  if (order && reasoning.length > 0) {
    // Converse rejects blank text blocks.
    const texts = parts.flatMap((part) => {
      const text = partText(part)
      const point = pointOf(part)
      return text.trim() ? [point ? [{ text }, point] : [{ text }]] : []
    })
    const asSent = placed(order, { reasoning: reasoning.map((block) => [block]), text: texts, tool: calls })
    if (asSent) return asSent.flat()
  }
  const text = typeof message.content === 'string' ? message.content : parts.map(partText).join('')
  const textPoint = parts.map((part) => pointOf(part)).find(Boolean)
  // Converse rejects blank text blocks, which assistant turns with only tool calls often carry.
  return [...reasoning, ...(text.trim() ? [{ text }, ...(textPoint ? [textPoint] : [])] : []), ...calls.flat()]
}

/**
 * System text as text blocks, one a part (as Anthropic's API keeps them: joined, Claude Code's
 * parts ran together), with a cache point after each marked one, so the cached prefix ends where
 * the client marked it, not after text that changes from call to call (a date after fixed
 * instructions). Blank parts, which Converse refuses, are left out.
 */
function systemBlocks(content: string | ReadonlyArray<{ text: string }>, pointOf: CachePoints): Block[] {
  if (typeof content === 'string') return content.trim() ? [{ text: content }] : []
  const blocks: Block[] = []
  for (const part of content) {
    if (part.text.trim()) blocks.push({ text: part.text })
    const point = pointOf(part)
    const last = blocks.at(-1)
    if (point && last && !isCachePoint(last)) blocks.push(point)
  }
  return blocks
}


/** Which tool choices the model takes besides `auto`: a named tool (`named`, which structured output needs too), any tool. */
interface ChoicesTaken {
  named: boolean
  any: boolean
}

/**
 * `tool_choice: "none"` has no Converse equivalent; the tools are still declared (earlier toolUse
 * blocks need them) and the choice is left to the model. A history of calls with no tools declared
 * gets them declared (historyTools), which Converse wants. `response_format` is one more tool
 * (../json-tool.ts), forced unless the client has tools of its own to call.
 */
function bedrockTools(request: ChatRequest, taken: ChoicesTaken, pointOf: CachePoints): Body | null {
  const declared = request.tools?.length ? request.tools : historyTools(request.messages)
  const specs = declared.flatMap((tool) => {
    const { function: fn } = tool
    const spec = toolSpec(fn.name, fn.description, objectSchema(fn.parameters))
    const point = pointOf(tool) ?? pointOf(fn)
    return point ? [spec, point] : [spec]
  })
  const json = taken.named ? jsonTool(request) : null
  if (json) specs.push(toolSpec(json.name, json.description, objectSchema(json.schema)))
  if (!specs.length) return null
  const toolChoice = json?.forced ? { tool: { name: json.name } } : request.tool_choice ? choiceOf(request.tool_choice, taken) : null
  return { tools: specs, ...(toolChoice ? { toolChoice } : {}) }
}

function toolSpec(name: string, description: string | undefined, schema: unknown): Body {
  return { toolSpec: { name, ...(description ? { description } : {}), inputSchema: { json: schema } } }
}

/**
 * A named tool goes as `toolChoice.tool` where the model takes it (Claude, Nova), else as `any`
 * where it takes that (Mistral Large: a tool must be called, if not surely that one); `required`
 * as `any`. A model that takes neither is sent no choice rather than one it refuses: it may then
 * answer in text.
 */
function choiceOf(choice: ToolChoice, taken: ChoicesTaken): Body | null {
  if (choice === 'auto') return { auto: {} }
  if (choice === 'none') return null
  if (typeof choice !== 'string' && taken.named) return { tool: { name: choice.function.name } }
  return taken.any ? { any: {} } : null
}

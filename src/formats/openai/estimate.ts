import { historyTools } from './functions'
import type { ChatRequest, Message } from './request'

/**
 * Token counts from a request before any upstream has seen it. Two kinds:
 * - an *estimate* (four characters per token) for usage nobody reported and for rate buckets;
 * - a *bound* that is never below the true count, for reserving the worst-case cost. Every BPE
 *   token of every tokenizer in use covers at least one UTF-8 byte, so text tokens ≤ text bytes;
 *   an image counts as its model's imageTokenBound; a fixed overhead covers each message's role
 *   and separators, and another the system prompt providers add around tool definitions.
 */

const CHARS_PER_TOKEN = 4
/**
 * The most prompt tokens one image counts at most models: Claude Opus 4.7's high-resolution image
 * (3.75 megapixels at about 750 pixels a token), above Gemini 2.x's 16 tiles of 258 (4,128, a
 * 3,072 px square), earlier Claude's about 1,600, GPT-4o's 1,445 (8 tiles of 170 and 85) and
 * GPT-4.1's and o4's patches (at most 1,536 × up to 2.46).
 */
export const IMAGE_TOKEN_BOUND = 5_000
/**
 * GPT-4o mini bills an image as 2,833 tokens plus 5,667 a tile (the dollars GPT-4o bills), so at
 * most 8 tiles: 48,169 (a small high-detail image is 8,512).
 */
const GPT_4O_MINI_IMAGE_TOKEN_BOUND = 2_833 + 8 * 5_667

/** The most prompt tokens one image may count at this model (its id, or its upstream's). */
export function imageTokenBound(model: string): number {
  return /gpt-4o-mini/i.test(model) ? GPT_4O_MINI_IMAGE_TOKEN_BOUND : IMAGE_TOKEN_BOUND
}
const MESSAGE_OVERHEAD_TOKENS = 16
/** Providers wrap tool definitions in a system prompt of their own (Anthropic's is about 350 tokens). */
const TOOLS_OVERHEAD_TOKENS = 1024

export function estimateTokens(characters: number): number {
  return Math.ceil(characters / CHARS_PER_TOKEN)
}

/** Several steps of one request want the estimate (routing, rate buckets, usage fallbacks): once each. */
const estimates = new WeakMap<ChatRequest, number>()

/** A typical image's prompt tokens, for estimates (OpenAI's high-detail 1024×1024 image is 765). */
const IMAGE_TOKEN_ESTIMATE = 765

/**
 * The prompt as providers count it, roughly: the messages' text, the tool calls in them, the tool
 * definitions and the response schema at four characters a token, and each image at a typical
 * size. What is charged for usage nobody reported (a client that hung up mid-stream), so nothing
 * the provider bills may be left out.
 */
export function estimatePromptTokens(request: ChatRequest): number {
  const known = estimates.get(request)
  if (known !== undefined) return known
  let characters = requestCharacters(request)
  let images = 0
  for (const message of request.messages) {
    characters += messageCharacters(message)
    images += imageCount(message)
  }
  const estimate = estimateFromParts(characters, images)
  estimates.set(request, estimate)
  return estimate
}

/** The most characters a prompt with this many images may hold for its estimate to stay within `tokens`. */
export function charactersWithin(tokens: number, images: number): number {
  return (tokens - IMAGE_TOKEN_ESTIMATE * images) * CHARS_PER_TOKEN
}

/** The estimate of a prompt of this many characters and images (estimatePromptTokens, by parts). */
export function estimateFromParts(characters: number, images: number): number {
  return estimateTokens(characters) + IMAGE_TOKEN_ESTIMATE * images
}

/** The characters a message adds to the estimate. */
export function messageCharacters(message: Message): number {
  return messageText(message).length + messageExtras(message).length
}

/** The characters of the prompt outside its messages: tool definitions and the response schema. */
export function requestCharacters(request: ChatRequest): number {
  const definitions = toolDefinitions(request)
  return (definitions.length ? JSON.stringify(definitions).length : 0) + (request.response_format ? JSON.stringify(request.response_format).length : 0)
}

/**
 * Whether a message carries a file or document, inline or by reference (a URL, an uploaded file's
 * id; or an image_url holding or linking a PDF, which Gemini reads), or audio. Their tokens cannot
 * be known from the request: a PDF page is billed as an image plus its text, whatever its bytes,
 * and a hundred pages may share a few kilobytes; audio is billed by its length (Gemini's 32 tokens
 * a second), not its encoded size. So no bound but the endpoint's context window holds.
 */
export function carriesDocuments(request: ChatRequest): boolean {
  return request.messages.some((message) => Array.isArray(message.content) && message.content.some(isDocumentPart))
}

/**
 * The prompt tokens judged against a window, by the context filter and for a default max_tokens.
 * A document's bytes say little of its tokens (a PDF page is billed as an image plus its text), so
 * a prompt carrying one is left to the provider to judge: its refusal moves on to a larger window.
 */
export function contextPromptTokens(request: ChatRequest): number {
  return carriesDocuments(request) ? 0 : estimatePromptTokens(request)
}

/**
 * Whether any `cache_control` marker (on the request, a tool or its function, a content part or a
 * tool call) asks for an hour's cache, whose writes are priced apart from the default five
 * minutes'. Legacy `functions` are read as the tools they become.
 */
export function cachesForAnHour(request: ChatRequest): boolean {
  const hour = (holder: unknown): boolean => {
    const marker = typeof holder === 'object' && holder !== null && 'cache_control' in holder ? holder.cache_control : null
    return typeof marker === 'object' && marker !== null && 'ttl' in marker && marker.ttl === '1h'
  }
  const inMessage = (message: Message) =>
    (Array.isArray(message.content) && message.content.some(hour)) || (message.role === 'assistant' && (message.tool_calls ?? []).some(hour))
  const inTool = (tool: unknown) => hour(tool) || (typeof tool === 'object' && tool !== null && 'function' in tool && hour(tool.function))
  return hour(request) || toolDefinitions(request).some(inTool) || request.messages.some(inMessage)
}

/** A content part of any message (assistant and tool content is typed loosely). */
type Part = { type: string; [field: string]: unknown }

function isDocumentPart(part: Part): boolean {
  return partInput(part) === 'file' || partInput(part) === 'audio'
}

/** What a content part asks a model to read, beyond text: an image, a file (or document), or audio. */
function partInput(part: Part): 'image' | 'file' | 'audio' | null {
  if (part.type === 'file') return 'file'
  if (part.type === 'input_audio') return 'audio'
  if (part.type !== 'image_url') return null
  return documentUrl(part) === null ? 'image' : 'file'
}

/** The inputs beyond text the request's messages (tool results included) ask a model to read. */
export function inputsUsed(request: ChatRequest): Set<'image' | 'file' | 'audio'> {
  const used = new Set<'image' | 'file' | 'audio'>()
  for (const message of request.messages) {
    if (!Array.isArray(message.content)) continue
    for (const part of message.content) {
      const input = partInput(part)
      if (input) used.add(input)
    }
  }
  return used
}

/** The URL of an image_url part that holds or links a document (isDocument), else null. */
function documentUrl(part: Part): string | null {
  const url = imageUrl(part)
  return url !== null && isDocument(url) ? url : null
}

function imageUrl(part: Part): string | null {
  const image = part.type === 'image_url' ? part.image_url : null
  return typeof image === 'object' && image !== null && 'url' in image && typeof image.url === 'string' ? image.url : null
}

/**
 * An image_url that holds or links a document rather than an image: a data: URL of another type, or
 * a PDF's URL. The scheme and media type are read without regard to case, as parseDataUrl reads them.
 */
function isDocument(url: string): boolean {
  if (/^data:/i.test(url)) return !/^data:\s*image\//i.test(url)
  return /\.pdf$/i.test(url.split(/[?#]/, 1)[0] ?? '')
}

/** The prompt's bound at a model whose images count at most `imageTokens` each. */
export function promptTokenBound(request: ChatRequest, imageTokens = IMAGE_TOKEN_BOUND): number {
  let bound = 0
  for (const message of request.messages) {
    bound += MESSAGE_OVERHEAD_TOKENS + utf8Length(messageText(message)) + imageTokens * imageCount(message) + utf8Length(messageExtras(message))
  }
  // With none declared, Anthropic- and Bedrock-format upstreams get one for each function a past
  // turn called (historyTools), and bill them with their tool prompt.
  const declared = toolDefinitions(request)
  const definitions = declared.length ? declared : historyTools(request.messages)
  if (definitions.length) {
    const text = JSON.stringify(definitions)
    // A `$ref` is written out for Gemini, up to as many characters again (formats/gemini/tools.ts).
    bound += TOOLS_OVERHEAD_TOKENS + utf8Length(text) * (text.includes('"$ref"') ? 2 : 1)
  }
  if (request.response_format) {
    // Anthropic-format upstreams get a structured format as a forced tool, with its system prompt.
    const asTool = request.response_format.type !== 'text'
    bound += utf8Length(JSON.stringify(request.response_format)) + (asTool ? TOOLS_OVERHEAD_TOKENS : 0)
  }
  return bound
}

/**
 * A predicted output's bound (OpenAI's `prediction`): the tokens of it the model rejects are billed
 * as completion tokens, beyond max_tokens.
 */
export function predictionTokenBound(request: ChatRequest): number {
  return request.prediction == null ? 0 : utf8Length(JSON.stringify(request.prediction))
}

/**
 * Tool definitions in either OpenAI form: `tools`, or the legacy `functions`, which OpenAI-format
 * upstreams receive as sent and bill as prompt all the same.
 */
function toolDefinitions(request: ChatRequest): unknown[] {
  const { tools, functions } = request
  return [...(tools ?? []), ...(Array.isArray(functions) ? functions : [])]
}

/**
 * What a message carries besides its role and content, as upstreams receive it: a participant's
 * `name` (which OpenAI counts in prompt_tokens), an assistant's calls (`tool_calls`, the legacy
 * `function_call`) and earlier reasoning (`reasoning`, OpenRouter's `reasoning_details`), a tool
 * result's call id, and any field passed through as sent, all of which OpenAI-format upstreams may
 * bill as prompt. Strings count as themselves, anything else as its JSON.
 */
function messageExtras(message: Message): string {
  let extras = ''
  for (const field in message) {
    if (field === 'role' || field === 'content' || ANSWER_FIELDS.has(field)) continue
    const value: unknown = message[field as keyof Message]
    if (value != null) extras += typeof value === 'string' ? value : JSON.stringify(value)
  }
  return extras
}

/**
 * What an answer's message carried that clients send back with the turn: its generated `images`
 * (counted as images: imageCount), `annotations` (citations of what it read) and `audio` (by id).
 * Upstreams bill these as what they are, or not at all: never as their bytes of text.
 */
const ANSWER_FIELDS = new Set(['images', 'annotations', 'audio'])

/** The text of a message, with attachments other than images (audio, files, documents) counted by their encoded size. */
function messageText(message: Message): string {
  const { content } = message
  if (content == null) return ''
  if (typeof content === 'string') return content
  let text = ''
  for (const part of content) {
    if (part.type === 'text' && typeof part.text === 'string') text += part.text
    else if (part.type !== 'image_url') text += JSON.stringify(part)
    else text += documentUrl(part) ?? ''
  }
  return text
}

export function imageCount(message: Message): number {
  const generated = 'images' in message && Array.isArray(message.images) ? message.images.length : 0
  if (typeof message.content === 'string' || message.content == null) return generated
  return generated + message.content.filter((part) => part.type === 'image_url' && documentUrl(part) === null).length
}

/** UTF-8 byte length without allocating an encoded copy. */
export function utf8Length(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4 // a surrogate pair is one 4-byte character
      i++
    } else bytes += 3
  }
  return bytes
}

import type { Endpoint } from '../catalog/snapshot'
import { GatewayError } from '../errors'
import { GATEWAY_FIELDS, type ChatRequest } from '../formats/openai/request'
import { reasoningOf } from '../formats/anthropic/thinking'
import { fromOpenAI, withoutReasoning } from '../formats/openai/response'
import { mediaAfterToolResults } from '../formats/openai/tool-media'
import { createOpenAIStreamDecoder } from '../formats/openai/stream'
import type { Adapter } from './adapter'
import { jsonRequest, upstreamUrl } from './adapter'
import { mapParameters, type Body } from './parameters'
import { presetFor, type Preset } from './presets'

/**
 * OpenAI chat completions and the OpenAI-compatible family. The canonical request already is an
 * OpenAI request, so it goes out as it is, except for what the provider's preset says: its URL
 * and auth, and the parameters it rejects, renames or bounds (src/providers/presets.ts).
 */
export const openaiAdapter: Adapter = {
  prepare(request, endpoint, apiKey, { stream }) {
    const preset = presetFor(endpoint.provider)
    const stops = Array.isArray(request.stop) ? request.stop.length : 0
    if (preset.maxStops !== undefined && stops > preset.maxStops) {
      // Another provider may take them; if none does, the client learns why.
      throw new GatewayError(400, 'invalid_request', `stop: ${endpoint.provider.name} takes at most ${preset.maxStops} stop sequences, and the request has ${stops}`)
    }
    if (preset.fileUrls === false && linksFile(request)) {
      throw new GatewayError(400, 'invalid_request', `${endpoint.provider.name} takes a file only as its bytes (a base64 data: URL in file.file_data), not by URL`)
    }
    const body = toOpenAICompatible(request, preset, endpoint.spec.upstreamModel, stream)
    // Most OpenAI-compatible servers ignore `reasoning.exclude`: the gateway leaves their reasoning out itself.
    const excludeReasoning = (request.reasoning != null || request.include_reasoning != null) && reasoningOf(request).exclude
    const decodeChunk = createOpenAIStreamDecoder({ excludeReasoning })
    return {
      request: jsonRequest(presetUrl(preset, endpoint), presetHeaders(endpoint.provider, apiKey), body),
      // Effort "none" turns thinking off (GPT-5.1 and later); nothing else does (the o-series cannot stop).
      thinksFirst: endpoint.spec.supportedParameters.includes('reasoning') && effortOf(body) !== 'none',
      decodeCompletion: excludeReasoning ? (answer) => withoutReasoning(fromOpenAI(answer)) : fromOpenAI,
      // An event with no data (a bare `data:` some servers send to keep alive) carries nothing.
      decodeStream: (message) => (message.data === '[DONE]' || message.data.trim() === '' ? [] : decodeChunk(parseJson(message.data))),
      errorMessage: openaiErrorMessage,
    }
  },
}

/** Whether a file part of the request links its document by URL rather than holding its bytes. */
function linksFile(request: ChatRequest): boolean {
  return request.messages.some((message) => Array.isArray(message.content) && message.content.some((part) => part.type === 'file' && linksDocument(part.file)))
}

function linksDocument(file: unknown): boolean {
  return typeof file === 'object' && file !== null && 'file_data' in file && typeof file.file_data === 'string' && !/^data:/i.test(file.file_data)
}

const NEVER_SENT = new Set<string>(GATEWAY_FIELDS)
const CLAUDE_ONLY_REASONING = ['display', 'within_max_tokens']

/** The upstream body: the canonical request through the preset's parameter table. Pure. */
export function toOpenAICompatible(request: ChatRequest, preset: Preset, upstreamModel: string, stream: boolean): Body {
  const mapped = new Set(preset.parameters.map((rule) => rule.param))
  const body: Body = {}
  for (const [field, value] of Object.entries(request)) {
    if (NEVER_SENT.has(field) || mapped.has(field)) continue
    if (preset.accepts === 'any' || preset.accepts.includes(field)) body[field] = value
  }
  mapParameters(request, preset.parameters, body)
  // `reasoning.display` and `within_max_tokens` are for Claude's thinking, carried by Meridian: no OpenAI-format upstream reads them.
  if (typeof body.reasoning === 'object' && body.reasoning !== null && !Array.isArray(body.reasoning)) body.reasoning = omit({ ...body.reasoning }, CLAUDE_ONLY_REASONING)
  const placed = mediaAfterToolResults(request.messages)
  const roled = preset.developerRole ? placed : placed.map((message) => (message.role === 'developer' ? { ...message, role: 'system' as const } : message))
  const reasoned = preset.reasoningField ? roled.map((message) => withReasoningAs(message, preset.reasoningField!)) : roled
  const messages = preset.toolId ? reasoned.map((message) => withToolIds(message, preset.toolId!)) : reasoned
  if (preset.messageFields.length || preset.partFields.length) body.messages = messages.map((message) => stripMessage(message, preset))
  else if (messages !== request.messages) body.messages = messages
  if (preset.partFields.length && Array.isArray(body.tools)) {
    body.tools = body.tools.map((tool: Body) => stripTool(tool, preset.partFields))
  }
  // Without tools, OpenAI refuses a tool choice or parallel calls ("only allowed when 'tools' are specified").
  if (!Array.isArray(body.tools) || body.tools.length === 0) {
    delete body.tools
    delete body.tool_choice
    delete body.parallel_tool_calls
  }
  body.model = upstreamModel
  body.stream = stream
  // Usage arrives in a final chunk only when asked for; the gateway always needs it for cost.
  if (stream && preset.streamOptions) body.stream_options = { include_usage: true }
  return body
}

type Message = ChatRequest['messages'][number]

/** A message's tool-call ids (its calls', or the call a result answers) as the provider takes them. */
function withToolIds(message: Message, toolId: (id: string) => string): Message {
  if (message.role === 'tool') return { ...message, tool_call_id: toolId(message.tool_call_id) }
  if (message.role !== 'assistant' || !message.tool_calls?.length) return message
  return { ...message, tool_calls: message.tool_calls.map((call) => ({ ...call, id: toolId(call.id) })) }
}

/**
 * An assistant turn's reasoning under the field the provider reads it from: OpenRouter's
 * `reasoning`, or else the text of its `reasoning_details` (as OpenRouter's clients send them back).
 * A turn that called tools always has the field, empty when the client kept no reasoning (most
 * OpenAI clients, Anthropic's for a call that followed no thinking): DeepSeek's thinking mode
 * refuses a tool-call turn without it ("Missing `reasoning_content` field").
 */
function withReasoningAs(message: Message, field: string): Message {
  if (message.role !== 'assistant') return message
  const { reasoning, reasoning_details: details, ...rest } = message as Message & { reasoning?: unknown; reasoning_details?: unknown }
  // A client of the provider's own API sends the field itself (rest keeps it).
  const own = (rest as Record<string, unknown>)[field]
  const text = (typeof reasoning === 'string' && reasoning) || detailsText(details) || (typeof own === 'string' ? own : '')
  const calledTools = Boolean(message.tool_calls?.length)
  if (!text && !calledTools && reasoning === undefined && details === undefined) return message
  return { ...rest, ...(text || calledTools ? { [field]: text } : {}) } as Message
}

function detailsText(details: unknown): string {
  if (!Array.isArray(details)) return ''
  return details
    .map((detail: unknown) => (typeof detail === 'object' && detail !== null && 'text' in detail && typeof detail.text === 'string' ? detail.text : ''))
    .join('')
}

function stripMessage(message: Message, preset: Preset): Body {
  const out = omit(message, preset.messageFields)
  if (Array.isArray(message.content)) out.content = message.content.map((part: Body) => omit(part, preset.partFields))
  if (preset.partFields.length && message.role === 'assistant' && message.tool_calls) out.tool_calls = message.tool_calls.map((call) => omit(call, preset.partFields))
  return out
}

function stripTool(tool: Body, fields: readonly string[]): Body {
  const out = omit(tool, fields)
  if (typeof tool.function === 'object' && tool.function !== null) out.function = omit({ ...tool.function }, fields)
  return out
}

function omit(object: Body, fields: readonly string[]): Body {
  const out: Body = { ...object }
  for (const field of fields) delete out[field]
  return out
}

/** The URL the provider's preset calls for, for chat completions or (same shape) embeddings. */
export function presetUrl(preset: Preset, endpoint: Endpoint, operation: 'chat/completions' | 'embeddings' = 'chat/completions'): string {
  const values: Record<string, string | undefined> = {
    model: endpoint.spec.upstreamModel,
    apiVersion: endpoint.provider.apiVersion ?? preset.apiVersion,
  }
  const path = preset.path
    .replace('chat/completions', operation)
    .replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? ''))
  return upstreamUrl(endpoint.provider.baseUrl, path)
}

/** The auth header the provider's preset calls for, then the provider's own headers. */
export function presetHeaders(provider: Endpoint['provider'], apiKey: string): Record<string, string> {
  return { ...authHeader(presetFor(provider).auth, apiKey), ...provider.headers }
}

function authHeader(auth: Preset['auth'], apiKey: string): Record<string, string> {
  switch (auth) {
    case 'bearer':
      return { authorization: `Bearer ${apiKey}` }
    case 'api-key':
      return { 'api-key': apiKey }
    case 'none':
      return {}
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export function openaiErrorMessage(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null
  const inChoice = 'choices' in body && Array.isArray(body.choices) && !('error' in body && body.error) ? choiceError(body.choices[0]) : undefined
  const error = inChoice ?? ('error' in body ? body.error : body)
  if (typeof error === 'string') return error
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') {
    return error.message
  }
  return null
}

/** OpenRouter's error in a choice (a provider that failed after it took the request), if there is one. */
function choiceError(choice: unknown): unknown {
  return typeof choice === 'object' && choice !== null && 'error' in choice && choice.error ? choice.error : undefined
}

/** The effort an upstream body asks for: OpenAI's `reasoning_effort`, or OpenRouter's `reasoning.effort`. */
function effortOf(body: Body): unknown {
  if (body.reasoning_effort !== undefined) return body.reasoning_effort
  return typeof body.reasoning === 'object' && body.reasoning !== null && 'effort' in body.reasoning ? body.reasoning.effort : undefined
}

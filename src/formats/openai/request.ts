import * as z from 'zod'
import { GatewayError } from '../../errors'
import { ProviderPreferences } from '../../routing/preferences'

/**
 * The canonical request: an OpenAI chat completion request plus OpenRouter's gateway extras.
 * Every ingress format converts to this and every upstream adapter converts from it. Objects are
 * loose so that OpenAI parameters we do not model still pass through to OpenAI-format upstreams.
 */

export const TextPart = z.looseObject({ type: z.literal('text'), text: z.string() })
export const ImagePart = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() }),
})
export const AudioPart = z.looseObject({
  type: z.literal('input_audio'),
  input_audio: z.looseObject({ data: z.string(), format: z.string() }),
})
/**
 * A file as its bytes (`file_data`, a data URL; or a URL where the format takes one). A `file_id`
 * would name a file in the operator's account at the provider, which no tenant uploaded: Meridian
 * stores no files, as on /v1/responses.
 */
export const FilePart = z.looseObject({
  type: z.literal('file'),
  file: z.looseObject({
    file_id: z.undefined({ error: 'Meridian stores no files: send the file’s content as a base64 data: URL in file.file_data' }).optional(),
  }),
})
export const ContentPart = z.discriminatedUnion('type', [TextPart, ImagePart, AudioPart, FilePart])
export type ContentPart = z.infer<typeof ContentPart>

const TextContent = z.union([z.string(), z.array(TextPart)])

export const ToolCall = z.looseObject({
  id: z.string(),
  type: z.literal('function').default('function'),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
})
export type ToolCall = z.infer<typeof ToolCall>

const SystemMessage = z.looseObject({ role: z.literal('system'), content: TextContent, name: z.string().optional() })
const DeveloperMessage = z.looseObject({ role: z.literal('developer'), content: TextContent, name: z.string().optional() })
const UserMessage = z.looseObject({
  role: z.literal('user'),
  content: z.union([z.string(), z.array(ContentPart)]),
  name: z.string().optional(),
})
/** An assistant turn; an ingress format with other kinds of tool call widens `tool_calls` (./functions.ts). */
export const AssistantMessage = z.looseObject({
  role: z.literal('assistant'),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]).nullish(),
  tool_calls: z.array(ToolCall).nullish(),
  name: z.string().optional(),
  refusal: z.string().nullish(),
  reasoning: z.string().nullish(),
})
/**
 * An assistant turn as the translations read it: one OpenAI answered as a refusal (`content: null,
 * refusal: "…"`, sent back as it came) with its refusal as its text, as a refusal part is read.
 */
export function withRefusalAsContent<T extends { content?: unknown; refusal?: string | null }>(message: T): T {
  const empty = message.content == null || message.content === '' || (Array.isArray(message.content) && message.content.length === 0)
  return empty && message.refusal ? { ...message, content: message.refusal } : message
}

/**
 * `is_error` (Anthropic's flag on a tool result: the call failed) is carried to the upstreams that
 * have one. A result may hold images and files, as Anthropic's tool_result and a Responses
 * function output do; formats whose results hold text only get them after (./tool-media.ts).
 */
const ToolMessage = z.looseObject({
  role: z.literal('tool'),
  tool_call_id: z.string(),
  content: z.union([z.string(), z.array(ContentPart)]),
  is_error: z.boolean().nullish(),
})

/** Every turn but the assistant's, which ingress formats may widen (./functions.ts). */
export const OTHER_MESSAGES = [SystemMessage, DeveloperMessage, UserMessage, ToolMessage] as const

export const Message = z.discriminatedUnion('role', [...OTHER_MESSAGES, AssistantMessage])
export type Message = z.infer<typeof Message>

/** A function's name as every provider takes it. */
export const ToolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -')

export const Tool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: ToolName,
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
})
export type Tool = z.infer<typeof Tool>

export const ToolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
])
export type ToolChoice = z.infer<typeof ToolChoice>

export const ResponseFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: z.string(),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
])
export type ResponseFormat = z.infer<typeof ResponseFormat>

/** A catalog model id as a client names it (any ingress format). */
export const ModelId = z.string().min(1).max(256)

/**
 * Plugins Meridian takes: compression (routing/compression.ts) and the auto router's pool
 * (routing/auto.ts), served; `file-parser`, whatever its engine, since every document goes to the
 * model as it is (the native engine); `response-healing`, not acted on (a schema is enforced
 * upstream, or by the gateway's own JSON tool, so there is little to heal). Clients send these two
 * by default, and refusing them would fail requests that are served well enough.
 */
const TAKEN_PLUGINS = new Set(['context-compression', 'auto-router', 'file-parser', 'response-healing'])

/**
 * One OpenRouter plugin. Any other (`web`, `web-fetch`, `moderation`, …) would change what the
 * answer is, so it is refused rather than dropped: the client learns its answer would not be
 * searched or moderated.
 */
const Plugin = z
  .looseObject({
    id: z.string(),
    enabled: z.boolean().nullish(),
    allowed_models: z.array(z.string().min(1)).max(256).nullish(),
    excluded_models: z.array(z.string().min(1)).max(256).nullish(),
  })
  .superRefine((plugin, context) => {
    if (plugin.enabled === false || TAKEN_PLUGINS.has(plugin.id)) return
    context.addIssue({ code: 'custom', path: ['id'], message: `plugin "${plugin.id}" is not supported by this gateway (it takes ${[...TAKEN_PLUGINS].join(', ')}); remove it or set enabled: false` })
  })
/** OpenRouter: fallback models, tried in order after `model`. */
// Empty is no fallback, read as absent (a preset's list then applies): some clients send `models: []` by default.
export const FallbackModels = z
  .array(ModelId)
  .max(8)
  .transform((models) => (models.length > 0 ? models : undefined))

export const ChatRequest = z.looseObject({
  model: ModelId.nullish(),
  models: FallbackModels.nullish(),
  messages: z.array(Message).min(1),
  stream: z.boolean().nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  n: z.literal(1, { error: 'only n = 1 is supported' }).nullish(),
  tools: z.array(Tool).nullish(),
  tool_choice: ToolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: ResponseFormat.nullish(),
  user: z.string().max(256).nullish(),
  /** OpenRouter: a preset's slug (routing/presets.ts). */
  preset: z.string().nullish(),
  /** OpenRouter's legacy spelling of context compression: `["middle-out"]` on, `[]` off (routing/compression.ts). */
  transforms: z.array(z.string()).nullish(),
  /** OpenRouter plugins: the ones Meridian serves (see Plugin); any other enabled one is refused. */
  plugins: z.array(Plugin).nullish(),
  /** OpenRouter provider preferences (docs/routing.md). */
  provider: ProviderPreferences.nullish(),
  /** OpenRouter's deprecated alias of `provider.sort.partition`: `fallback` is `model`, `sort` is `none`. */
  route: z.enum(['fallback', 'sort']).nullish(),
})
export type ChatRequest = z.infer<typeof ChatRequest>

/**
 * Fields that belong to the gateway (or are deprecated no-ops) and must never reach an upstream.
 * `stream_options` is set by the adapter itself. The rest would have the upstream bill at prices
 * the catalog does not hold (a priority tier, web search calls, audio output), so the charge
 * would not be the bill: they are not passed on.
 */
export const GATEWAY_FIELDS = [
  'models',
  'provider',
  'route',
  'transforms',
  'usage',
  'plugins',
  'session_id',
  'trace',
  'debug',
  'preset',
  'stream_options',
  'service_tier',
  'web_search_options',
  'modalities',
  'audio',
] as const

/** The output-token cap the client asked for, whichever of the two spellings it used. */
export function requestedMaxTokens(request: ChatRequest): number | undefined {
  return request.max_completion_tokens ?? request.max_tokens ?? undefined
}

/**
 * The most output a request lets an upstream produce: the larger of the two when both are sent,
 * since OpenAI-format upstreams receive both and may honour either. Reservations rest on this.
 */
export function maxTokensAllowed(request: ChatRequest): number | undefined {
  const { max_completion_tokens: completion, max_tokens: tokens } = request
  return completion != null && tokens != null ? Math.max(completion, tokens) : (completion ?? tokens ?? undefined)
}

/** The plain text of a message's content (text parts joined), for prompts and estimates. */
export function textOf(content: Message['content']): string {
  if (content == null) return ''
  if (typeof content === 'string') return content
  return content.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join('')
}

/**
 * A canonical tool call's `arguments` as the object formats other than OpenAI's need (Anthropic
 * `input`, Gemini `args`, Bedrock `input`). Several clients send "" for a call without arguments.
 * Anything but a JSON object is the request's fault: a 400 naming the message.
 */
export function toolCallArguments(json: string, messageIndex: number): Record<string, unknown> {
  const input = argumentsObject(json)
  if (!input) throw new GatewayError(400, 'invalid_request', `messages[${messageIndex}].tool_calls: function arguments must be a JSON object`)
  return input
}

/** Whether a streamed call's arguments so far are a whole JSON object (nothing yet is not). */
export const isWholeArguments = (json: string): boolean => json.trim() !== '' && argumentsObject(json) !== null

/** A call's `arguments` as an object, or null when they are not a JSON object ("" is none: {}). */
export function argumentsObject(json: string): Record<string, unknown> | null {
  if (json.trim() === '') return {}
  try {
    const input: unknown = JSON.parse(json)
    return typeof input === 'object' && input !== null && !Array.isArray(input) ? { ...input } : null
  } catch {
    return null
  }
}

import * as z from 'zod'
import { GatewayError } from '../errors'
import { ChatRequest } from '../formats/openai/request'

/**
 * OpenRouter's presets: named request defaults the operator keeps, so that a client able to send
 * only a model name (Claude Code, an editor's model picker) still gets a model list, provider
 * preferences, a system prompt and parameters. (Not the providers' parameter presets of
 * src/providers/presets.ts.) Pure: the stored document comes in as data.
 *
 * A request names one in any of OpenRouter's three ways:
 * - `model: "@preset/coding"`: the preset's model (and `models`);
 * - `model: "anthropic/claude-sonnet-4.5@preset/coding"`: that model, the preset's everything else;
 * - `preset: "coding"` beside the request's own `model` (or none: the preset's).
 *
 * @example
 * // stored document: { "coding": { "model": "anthropic/claude-sonnet-4.5", "provider": { "order": ["anthropic"] }, "temperature": 0.2 } }
 * // request:         { "model": "@preset/coding", "messages": [...] }
 * // served as:       { "model": "anthropic/claude-sonnet-4.5", "provider": { "order": ["anthropic"] }, "temperature": 0.2, "messages": [...] }
 */

const MARK = '@preset/'

export const PresetSlug = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a slug of 1-64 lowercase letters, digits, _ or -')

const fields = ChatRequest.shape

/**
 * What a preset may set: the request's routing and generation fields, a system prompt, and a
 * description. Strict, so that a misspelt field is refused when the operator stores it rather
 * than ignored on every request.
 */
export const Preset = z.strictObject({
  description: z.string().max(1000).optional(),
  /** Sent as the first message, before the request's own (its system messages included). */
  system: z.string().min(1).optional(),
  // A preset is applied once: one naming another would never resolve.
  model: fields.model.refine((model) => !model?.includes(MARK), 'must name a model, not a preset'),
  models: fields.models.refine((models) => !models?.some((model) => model.includes(MARK)), 'must name models, not presets'),
  provider: fields.provider,
  max_tokens: fields.max_tokens,
  max_completion_tokens: fields.max_completion_tokens,
  temperature: fields.temperature,
  top_p: fields.top_p,
  top_k: fields.top_k,
  frequency_penalty: fields.frequency_penalty,
  presence_penalty: fields.presence_penalty,
  repetition_penalty: z.number().gt(0).max(2).nullish(),
  seed: fields.seed,
  stop: fields.stop,
  tools: fields.tools,
  tool_choice: fields.tool_choice,
  parallel_tool_calls: fields.parallel_tool_calls,
  response_format: fields.response_format,
  /** OpenRouter's unified reasoning object, as a request would send it. */
  reasoning: z.looseObject({}).nullish(),
  /** OpenRouter's scale: Claude's effort levels, of which OpenAI takes the first three. */
  verbosity: z.enum(['low', 'medium', 'high', 'xhigh', 'max']).nullish(),
})
export type Preset = z.infer<typeof Preset>

/** The stored document: every preset by its slug. */
export const PresetsDocument = z.record(PresetSlug, Preset)
export type PresetsDocument = z.infer<typeof PresetsDocument>

/**
 * The fields a preset fills when the request leaves them out (sent as null counts as left out).
 * `models` only when the model is the preset's too; `reasoning` only when the request says
 * nothing of reasoning in another spelling.
 */
const DEFAULTS = [
  'provider',
  'temperature',
  'top_p',
  'top_k',
  'frequency_penalty',
  'presence_penalty',
  'repetition_penalty',
  'seed',
  'stop',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'response_format',
  'reasoning',
  'verbosity',
] as const satisfies readonly (keyof Preset)[]

export interface PresetReference {
  slug: string
  /** The model the request names beside the preset, if any. */
  model: string | null
}

/** The preset a request names, or null. A malformed slug is the request's fault: a 400. */
export function presetReference(request: ChatRequest): PresetReference | null {
  const { model } = request
  const at = typeof model === 'string' ? model.indexOf(MARK) : -1
  const named = at >= 0 ? model!.slice(at + MARK.length) : request.preset
  if (named == null) return null
  const slug = PresetSlug.safeParse(named)
  if (!slug.success) {
    throw new GatewayError(400, 'invalid_request', `Invalid preset ${JSON.stringify(named)}: ${slug.error.issues[0]?.message ?? 'not a slug'}`)
  }
  const beside = at >= 0 ? model!.slice(0, at) : model
  return { slug: slug.data, model: beside ? beside : null }
}

/**
 * The request with the preset's defaults filled in. The request's own fields win; an output
 * limit in either spelling replaces both of the preset's; the preset's system prompt goes first.
 */
export function withPreset(request: ChatRequest, reference: PresetReference, presets: PresetsDocument): ChatRequest {
  const preset = Object.hasOwn(presets, reference.slug) ? presets[reference.slug] : undefined
  if (!preset) throw new GatewayError(404, 'not_found', `No preset "${reference.slug}"`, { preset: reference.slug })
  const filled: Record<string, unknown> = {}
  for (const field of DEFAULTS) {
    if (request[field] == null && preset[field] != null) filled[field] = preset[field]
  }
  if (reference.model === null && request.models == null && preset.models != null) filled.models = preset.models
  if (request.reasoning_effort != null || request.include_reasoning != null) delete filled.reasoning
  const { preset: _named, ...rest } = request
  const served: ChatRequest = { ...rest, ...filled, model: reference.model ?? preset.model ?? null }
  if (request.max_tokens == null && request.max_completion_tokens == null) {
    if (preset.max_tokens != null) served.max_tokens = preset.max_tokens
    if (preset.max_completion_tokens != null) served.max_completion_tokens = preset.max_completion_tokens
  }
  if (served.model == null && !served.models?.length) {
    throw new GatewayError(400, 'invalid_request', `Preset "${reference.slug}" names no model: send one as "author/model@preset/${reference.slug}"`, {
      preset: reference.slug,
    })
  }
  if (preset.system) served.messages = [{ role: 'system', content: preset.system }, ...request.messages]
  return served
}

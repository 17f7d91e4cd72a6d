// Type-only: catalog/schema imports this module for the preset ids.
import type { ProviderSpec } from '../catalog/schema'
import { nineCharToolId } from '../formats/tool-ids'
import { hash53 } from '../hash'
import { drop, mappedValue, rename, type Body, type ParameterRule } from './parameters'

/**
 * The OpenAI-compatible family as data: where each provider is, how it authenticates, and which
 * OpenAI parameters it rejects, renames or bounds. A catalog provider picks one with `preset`;
 * without one it is plain OpenAI-compatible (Bearer key, everything passed through). Adding a
 * provider is one entry below (docs/catalog.md lists what each quirk rests on).
 */

export interface Preset {
  /** Where the provider serves by default (catalogs still name `baseUrl`; this documents it). */
  baseUrl: string | null
  auth: 'bearer' | 'api-key' | 'none'
  /** Appended to `baseUrl`; `{model}` is the endpoint's upstream model, `{apiVersion}` the provider's (else this) API version. */
  path: string
  apiVersion?: string
  /** Request fields sent as they are (besides what a rule writes); `'any'` passes unknown fields through. */
  accepts: readonly string[] | 'any'
  parameters: readonly ParameterRule[]
  /** Removed from every message. */
  messageFields: readonly string[]
  /** Removed from every content part, and from every tool definition and its `function`. */
  partFields: readonly string[]
  /** Whether `stream_options.include_usage` may be sent; without it the provider must send usage unasked. */
  streamOptions: boolean
  /**
   * The most stop sequences the provider takes (OpenAI's 4, which chat completions requests are
   * held to; a `/v1/messages` request, as Anthropic's API, may carry more). More cannot go there.
   */
  maxStops?: number
  /** Whether the provider takes OpenAI's `developer` role; where it does not, such a message goes as `system` (what it replaced). */
  developerRole: boolean
  /**
   * The assistant message field the provider reads its own earlier reasoning from, where it is not
   * OpenRouter's `reasoning` (DeepSeek's `reasoning_content`, which its thinking mode requires back
   * on a turn that called tools).
   */
  reasoningField?: string
  /** How the provider wants tool-call ids, where it refuses others (Mistral: nine letters or digits). */
  toolId?: (id: string) => string
  /**
   * False where a file part's `file_data` must hold the bytes (a base64 data URL) and a document's
   * URL is refused (OpenAI: "Chat Completions does not support file URLs"). Such a request is
   * refused before it is sent, so another of the model's endpoints (OpenRouter's takes URLs) serves it.
   */
  fileUrls?: false
  /**
   * Whether embeddings are asked for in base64 (OpenAI's and Azure's API take `encoding_format`):
   * a third of the bytes of JSON floats, so a full batch (2,048 inputs of 1,536 dimensions, about
   * 41 MB as floats) fits the gateway's read of an upstream answer. Others answer floats.
   */
  embeddingsBase64?: true
}

/** OpenAI's chat completion parameters, for providers that reject anything else. */
const OPENAI_PARAMETERS = [
  'model', 'messages', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p',
  'frequency_penalty', 'presence_penalty', 'seed', 'stop', 'n', 'tools', 'tool_choice', 'parallel_tool_calls',
  'response_format', 'user', 'logit_bias', 'logprobs', 'top_logprobs', 'reasoning_effort', 'verbosity', 'metadata',
  'store', 'service_tier', 'modalities', 'audio', 'prediction', 'prompt_cache_key', 'prompt_cache_retention', 'safety_identifier',
  'web_search_options', 'functions', 'function_call',
]

/**
 * OpenRouter's `reasoning.effort` → OpenAI's `reasoning_effort`; the rest of `reasoning` has no
 * OpenAI field. Claude's `max` is beyond OpenAI's scale: its top, `xhigh`.
 */
const REASONING_EFFORT: ParameterRule = {
  param: 'reasoning',
  to: 'reasoning_effort',
  transform: (value) => {
    const effort = typeof value === 'object' && value !== null && 'effort' in value && typeof value.effort === 'string' ? value.effort : undefined
    return openaiEffort(effort)
  },
}

const openaiEffort = (effort: unknown) => (effort === 'max' ? 'xhigh' : effort)

/** OpenRouter's shorthand `reasoning_effort` (as `reasoning.effort`, up to `max`) on OpenAI's scale; listed first, so a client's own wins over `reasoning.effort`. */
const REASONING_EFFORT_SHORTHAND: ParameterRule = { param: 'reasoning_effort', transform: openaiEffort }

/** OpenRouter's `verbosity` goes up to Claude's `xhigh` and `max`; OpenAI's stops at `high`. */
const VERBOSITY: ParameterRule = {
  param: 'verbosity',
  transform: (value) => (value === 'xhigh' || value === 'max' ? 'high' : value),
}

/**
 * OpenAI refuses a `user` (or `safety_identifier`) over 64 characters ("string too long"), where
 * OpenRouter and Anthropic's `metadata.user_id` take 256 and Claude Code sends about 160. A longer
 * one goes as its start and a hash of the whole: still one value per end user, and within 64.
 */
const OPENAI_ID_CHARS = 64
const shortId = (value: unknown): unknown => {
  if (typeof value !== 'string' || value.length <= OPENAI_ID_CHARS) return value
  const digest = hash53(value).toString(16).padStart(14, '0')
  return `${value.slice(0, OPENAI_ID_CHARS - digest.length - 1)}-${digest}`
}
const OPENAI_IDS: ParameterRule[] = [
  { param: 'user', transform: shortId },
  { param: 'safety_identifier', transform: shortId },
]

const OPENAI_COMPATIBLE: Preset = {
  baseUrl: null,
  auth: 'bearer',
  path: 'chat/completions',
  accepts: 'any',
  parameters: [],
  messageFields: [],
  partFields: [],
  streamOptions: true,
  developerRole: true,
}

// A provider that rejects unknown fields also rejects OpenRouter's extras inside messages.
const STRICT = { messageFields: ['reasoning', 'reasoning_details', 'is_error', 'cache_control'], partFields: ['cache_control'] }

const preset = (fields: Partial<Preset>): Preset => ({ ...OPENAI_COMPATIBLE, ...fields })

export const PRESETS = {
  openai: preset({
    baseUrl: 'https://api.openai.com/v1',
    ...STRICT,
    accepts: OPENAI_PARAMETERS,
    // max_tokens is deprecated and rejected by reasoning models; max_completion_tokens works on all.
    parameters: [rename('max_tokens', 'max_completion_tokens'), REASONING_EFFORT_SHORTHAND, REASONING_EFFORT, VERBOSITY, ...OPENAI_IDS],
    maxStops: 4,
    fileUrls: false,
    embeddingsBase64: true,
  }),
  azure: preset({
    // api-version 2024-10-21 (GA) lists system, user, assistant, tool and function, not developer.
    developerRole: false,
    auth: 'api-key',
    path: 'openai/deployments/{model}/chat/completions?api-version={apiVersion}',
    apiVersion: '2024-10-21',
    ...STRICT,
    accepts: OPENAI_PARAMETERS,
    // 2024-10-21 defines max_completion_tokens, and says max_tokens "is not compatible with o1 series models".
    parameters: [rename('max_tokens', 'max_completion_tokens'), REASONING_EFFORT_SHORTHAND, REASONING_EFFORT, VERBOSITY, ...OPENAI_IDS],
    maxStops: 4,
    fileUrls: false,
    embeddingsBase64: true,
  }),
  groq: preset({
    developerRole: false,
    baseUrl: 'https://api.groq.com/openai/v1',
    ...STRICT,
    messageFields: [...STRICT.messageFields, 'name'],
    accepts: [...OPENAI_PARAMETERS, 'reasoning_format', 'include_reasoning', 'search_settings', 'citation_options', 'documents'],
    parameters: [drop('logprobs'), drop('logit_bias'), drop('top_logprobs'), drop('store'), REASONING_EFFORT_SHORTHAND, REASONING_EFFORT, VERBOSITY],
  }),
  mistral: preset({
    developerRole: false,
    baseUrl: 'https://api.mistral.ai/v1',
    ...STRICT,
    messageFields: [...STRICT.messageFields, 'name', 'refusal'],
    accepts: [
      'model', 'messages', 'stream', 'max_tokens', 'temperature', 'top_p', 'frequency_penalty', 'presence_penalty',
      'stop', 'n', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'prediction', 'prompt_mode', 'safe_prompt',
    ],
    parameters: [rename('seed', 'random_seed'), rename('max_completion_tokens', 'max_tokens')],
    streamOptions: false,
    toolId: nineCharToolId,
  }),
  cerebras: preset({
    developerRole: false,
    baseUrl: 'https://api.cerebras.ai/v1',
    parameters: [
      drop('frequency_penalty'), drop('presence_penalty'), drop('logit_bias'), drop('parallel_tool_calls'), drop('service_tier'),
      REASONING_EFFORT_SHORTHAND, REASONING_EFFORT,
    ],
  }),
  xai: preset({
    developerRole: false,
    baseUrl: 'https://api.x.ai/v1',
    // Grok reasoning models answer 400 to the penalties (and to stop, which non-reasoning ones accept).
    parameters: [drop('presence_penalty'), drop('frequency_penalty'), REASONING_EFFORT_SHORTHAND, REASONING_EFFORT],
  }),
  perplexity: preset({
    developerRole: false,
    baseUrl: 'https://api.perplexity.ai',
    parameters: [
      drop('tools'), drop('tool_choice'), drop('parallel_tool_calls'), drop('logit_bias'), drop('logprobs'), drop('top_logprobs'),
      drop('stop'), drop('seed'), REASONING_EFFORT_SHORTHAND, REASONING_EFFORT,
      { param: 'temperature', max: 1.99 }, // 0 ≤ t < 2
    ],
    streamOptions: false,
  }),
  // DeepSeek documents max_tokens only: max_completion_tokens was ignored.
  deepseek: preset({ baseUrl: 'https://api.deepseek.com/v1', developerRole: false, reasoningField: 'reasoning_content', parameters: [rename('max_completion_tokens', 'max_tokens')] }),
  together: preset({ baseUrl: 'https://api.together.xyz/v1', developerRole: false }),
  // Fireworks refuses OpenRouter's reasoning ("Extra inputs are not permitted"), in the request and its messages; it takes reasoning_effort.
  fireworks: preset({
    baseUrl: 'https://api.fireworks.ai/inference/v1',
    developerRole: false,
    parameters: [REASONING_EFFORT_SHORTHAND, REASONING_EFFORT],
    messageFields: ['reasoning', 'reasoning_details'],
  }),
  deepinfra: preset({ baseUrl: 'https://api.deepinfra.com/v1/openai', developerRole: false }),
  openrouter: preset({ baseUrl: 'https://openrouter.ai/api/v1' }),
  vllm: preset({ baseUrl: 'http://localhost:8000/v1', auth: 'none', developerRole: false }),
  ollama: preset({ baseUrl: 'http://localhost:11434/v1', auth: 'none', developerRole: false }),
} satisfies Record<string, Preset>

export type PresetId = keyof typeof PRESETS
export const PRESET_IDS = Object.keys(PRESETS) as [PresetId, ...PresetId[]]

/** The preset an OpenAI-format provider speaks through (plain OpenAI-compatible when it names none). */
export function presetFor(provider: Pick<ProviderSpec, 'preset'>): Preset {
  return provider.preset ? PRESETS[provider.preset] : OPENAI_COMPATIBLE
}

/**
 * Request fields this provider's preset does not send upstream in any form, for
 * `provider.require_parameters` (which only asks about the sampling and tool parameters). Other
 * wire formats translate field by field and answer [].
 */
export function droppedFields(provider: Pick<ProviderSpec, 'format' | 'preset'>, request: Readonly<Body>): string[] {
  if (provider.format !== 'openai') return []
  const preset = presetFor(provider)
  return Object.keys(request).filter((field) => {
    if (request[field] == null) return false
    const rule = preset.parameters.find((candidate) => candidate.param === field)
    if (rule) return mappedValue(request, rule) === undefined
    return preset.accepts !== 'any' && !preset.accepts.includes(field)
  })
}

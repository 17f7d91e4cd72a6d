import type { ProviderSpec } from '../catalog/schema'
import { contextWindow, type Endpoint } from '../catalog/snapshot'
import { contextPromptTokens, inputsUsed } from '../formats/openai/estimate'
import { requestedMaxTokens, type ChatRequest } from '../formats/openai/request'
import { takesForcedTool } from '../formats/bedrock/request'
import { dropsJsonModeBesideTools } from '../formats/gemini/generation'
import { droppedFields } from '../providers/presets'
import { namesProvider, type ProviderPreferences } from './preferences'
import { endpointKey } from '../health/types'

/**
 * Hard filters: endpoints that must not be tried for this request, each filter named so that a
 * "No endpoints found" answer can say what removed them. Pure.
 */

export interface FilterInput {
  request: ChatRequest
  preferences: ProviderPreferences | null
  isLive: (provider: ProviderSpec) => boolean
  /**
   * What the client wants produced: chat text (the default), embeddings, or a token count of a
   * chat request (which no window or output cap limits: a prompt too long is what one counts).
   */
  output?: 'text' | 'embeddings' | 'count'
}

interface Filter {
  name: string
  /** Completes "No endpoints found that …". */
  explains: string
  keep(endpoint: Endpoint, facts: RequestFacts, input: FilterInput): boolean
}

/** What the filters need to know about the request, computed once. */
interface RequestFacts {
  promptTokens: number
  maxTokens: number | undefined
  usesTools: boolean
  /** Inputs beyond text the messages hold, each of which an endpoint's model must take. */
  inputs: ReadonlySet<'image' | 'file' | 'audio'>
  parameters: string[]
}

/** OpenRouter parameter names a request uses, for `require_parameters`. */
const PARAMETER_FIELDS: Record<string, string> = {
  temperature: 'temperature',
  top_p: 'top_p',
  top_k: 'top_k',
  frequency_penalty: 'frequency_penalty',
  presence_penalty: 'presence_penalty',
  repetition_penalty: 'repetition_penalty',
  min_p: 'min_p',
  top_a: 'top_a',
  seed: 'seed',
  max_tokens: 'max_tokens',
  max_completion_tokens: 'max_tokens',
  stop: 'stop',
  tools: 'tools',
  tool_choice: 'tool_choice',
  parallel_tool_calls: 'parallel_tool_calls',
  response_format: 'response_format',
  logit_bias: 'logit_bias',
  logprobs: 'logprobs',
  top_logprobs: 'top_logprobs',
  reasoning: 'reasoning',
  reasoning_effort: 'reasoning',
  include_reasoning: 'reasoning',
  prediction: 'prediction',
  verbosity: 'verbosity',
  // Embeddings (their planning request carries it: formats/openai/embeddings.ts).
  dimensions: 'dimensions',
}

/** PARAMETER_FIELDS as pairs, built once (every request is checked against all of them). */
const PARAMETER_ENTRIES = Object.entries(PARAMETER_FIELDS)

export function parametersUsed(request: ChatRequest): string[] {
  const used = new Set<string>()
  for (const [field, parameter] of PARAMETER_ENTRIES) {
    if (asks(field, request[field])) used.add(parameter)
  }
  // OpenRouter lists a JSON schema's support apart from JSON mode's.
  if (request.response_format?.type === 'json_schema') used.add('structured_outputs')
  return [...used]
}

/**
 * Whether a field's value asks anything of the provider: values that change nothing (`logprobs:
 * false`, `stop: []`, `tools: []`, `logit_bias: {}`, reasoning turned off, `response_format:
 * {type: "text"}`) do not, so `require_parameters` does not turn away providers for them.
 */
function asks(field: string, value: unknown): boolean {
  if (value == null) return false
  if (field === 'logprobs' || field === 'include_reasoning') return value !== false
  if (Array.isArray(value)) return value.length > 0
  if (typeof value !== 'object') return field !== 'reasoning_effort' || value !== 'none'
  const fields = value as Record<string, unknown>
  if (field === 'logit_bias') return Object.keys(fields).length > 0
  // Reasoning turned off, and plain text (the default format), ask nothing of a provider.
  if (field === 'reasoning') return fields.enabled !== false && fields.effort !== 'none'
  if (field === 'response_format') return fields.type !== 'text'
  return true
}

/**
 * Whether the request asks for what no provider is sent (formats/openai/request.ts GATEWAY_FIELDS:
 * billed at prices the catalog does not hold): web search, audio output, a priority tier. Under
 * `require_parameters` no endpoint can honour it.
 */
function asksUnsent(request: ChatRequest): boolean {
  const fields = request as Record<string, unknown>
  const modalities = Array.isArray(fields.modalities) ? fields.modalities : []
  return (
    fields.web_search_options != null ||
    fields.audio != null ||
    modalities.some((modality) => modality !== 'text') ||
    (fields.service_tier != null && fields.service_tier !== 'auto' && fields.service_tier !== 'default')
  )
}

function factsOf(request: ChatRequest): RequestFacts {
  return {
    promptTokens: contextPromptTokens(request),
    maxTokens: requestedMaxTokens(request),
    usesTools: (request.tools?.length ?? 0) > 0,
    inputs: inputsUsed(request),
    parameters: parametersUsed(request),
  }
}

const PER_MILLION = 1e6

/** Only the OpenAI wire format has an embeddings API among the adapters (Gemini's and Bedrock's are not built). */
export function servesEmbeddings(provider: Pick<ProviderSpec, 'format'>): boolean {
  return provider.format === 'openai'
}

/** Whether an endpoint can serve its model at all: a model that only embeds needs a provider that embeds. */
export function servesModel(endpoint: Pick<Endpoint, 'model' | 'provider'>): boolean {
  return endpoint.model.modalities.output.some((modality) => modality !== 'embeddings') || servesEmbeddings(endpoint.provider)
}

const FILTERS: Filter[] = [
  // First, so that asking the wrong kind of model is what the 404 names, whatever else applies.
  {
    name: 'embeddings',
    explains: 'support embeddings',
    keep: (e, _f, { output }) => output !== 'embeddings' || (e.model.modalities.output.includes('embeddings') && servesEmbeddings(e.provider)),
  },
  {
    name: 'chat',
    explains: 'support chat completions',
    keep: (e, _f, { output }) => output === 'embeddings' || e.model.modalities.output.some((modality) => modality !== 'embeddings'),
  },
  { name: 'missing_api_key', explains: 'have a configured API key', keep: (e, _f, input) => input.isLive(e.provider) },
  {
    name: 'provider_only',
    explains: 'match provider.only',
    keep: (e, _f, { preferences }) => !preferences?.only || preferences.only.some((slug) => namesProvider(slug, e.provider)),
  },
  {
    name: 'provider_ignore',
    explains: 'are not in provider.ignore',
    keep: (e, _f, { preferences }) => !preferences?.ignore?.some((slug) => namesProvider(slug, e.provider)),
  },
  {
    name: 'provider_order',
    explains: 'are in provider.order (allow_fallbacks is false)',
    keep: (e, _f, { preferences }) =>
      preferences?.allow_fallbacks !== false || !preferences.order || preferences.order.some((slug) => namesProvider(slug, e.provider)),
  },
  {
    name: 'data_collection',
    explains: 'do not collect data (provider.data_collection: "deny")',
    keep: (e, _f, { preferences }) =>
      (preferences?.data_collection !== 'deny' && preferences?.zdr !== true) || e.provider.dataCollection === 'deny',
  },
  {
    name: 'quantization',
    explains: 'match provider.quantizations',
    keep: (e, _f, { preferences }) => !preferences?.quantizations || preferences.quantizations.includes(e.spec.quantization),
  },
  {
    name: 'max_price',
    explains: 'are within provider.max_price',
    keep: (e, _f, { preferences }) => {
      const max = preferences?.max_price
      if (!max) return true
      // Compared exactly, in pico-USD: the limit (USD per million tokens, or per request) is
      // scaled to a per-token integer; the price is already one. A limit too large to scale
      // (past about 1e296) is beyond every price.
      const within = (limit: number | null | undefined, usdPerToken: bigint, tokensPerUnit: number) => {
        const scaled = limit == null ? Infinity : limit * 1e12
        return scaled === Infinity || usdPerToken * BigInt(tokensPerUnit) <= BigInt(Math.round(scaled))
      }
      return (
        within(max.prompt, e.prices.prompt, PER_MILLION) &&
        within(max.completion, e.prices.completion, PER_MILLION) &&
        within(max.request, e.prices.request, 1)
      )
    },
  },
  {
    name: 'context_length',
    explains: "can fit the request's context",
    keep: (e, facts, { output }) => output === 'count' || facts.promptTokens + (facts.maxTokens ?? 0) <= contextWindow(e, facts.maxTokens),
  },
  {
    name: 'max_tokens',
    explains: 'can return max_tokens',
    keep: (e, facts, { output }) => output === 'count' || facts.maxTokens === undefined || facts.maxTokens <= e.spec.maxCompletionTokens,
  },
  { name: 'tools', explains: 'support tool use', keep: (e, facts) => !facts.usesTools || e.spec.supportedParameters.includes('tools') },
  ...(['image', 'file', 'audio'] as const).map((input) => ({
    name: `${input}_input`,
    explains: `support ${input} input`,
    keep: (e: Endpoint, facts: RequestFacts) => !facts.inputs.has(input) || e.model.modalities.input.includes(input),
  })),
  {
    name: 'require_parameters',
    explains: 'can handle the requested parameters',
    // The catalog's claim, and what an OpenAI-compatible provider's preset drops before sending
    // (a chat preset's: an embeddings request always carries its parameter, formats/openai/embeddings.ts).
    keep: (e, facts, { preferences, request, output }) =>
      preferences?.require_parameters !== true ||
      (!asksUnsent(request) &&
        facts.parameters.every((p) => supports(e, p)) &&
        honoursSoftParameters(e, request) &&
        (output === 'embeddings' || !droppedFields(e.provider, request).some((field) => Object.hasOwn(PARAMETER_FIELDS, field) && asks(field, request[field])))),
  },
]

export interface FilterStep {
  filter: string
  explains: string
  /** Endpoint keys (`model@provider`) this filter removed. */
  removed: string[]
}

export function applyFilters(endpoints: Endpoint[], input: FilterInput): { kept: Endpoint[]; funnel: FilterStep[] } {
  const facts = factsOf(input.request)
  let kept = endpoints
  const funnel: FilterStep[] = []
  for (const filter of FILTERS) {
    // Most filters keep everything: then nothing is copied and no step is recorded.
    if (kept.every((endpoint) => filter.keep(endpoint, facts, input))) continue
    const removed: string[] = []
    kept = kept.filter((endpoint) => {
      const keep = filter.keep(endpoint, facts, input)
      if (!keep) removed.push(endpointKey(endpoint.model.id, endpoint.provider.id))
      return keep
    })
    if (removed.length > 0) funnel.push({ filter: filter.name, explains: filter.explains, removed })
  }
  return { kept, funnel }
}

/** Soft: endpoints that would ignore `response_format` (or its JSON schema) go after those that honour it. */
export function honoursSoftParameters(endpoint: Endpoint, request: ChatRequest): boolean {
  const format = request.response_format
  if (!format || format.type === 'text') return true
  return (
    supports(endpoint, 'response_format') &&
    (format.type !== 'json_schema' || supports(endpoint, 'structured_outputs')) &&
    !(endpoint.provider.format === 'gemini' && dropsJsonModeBesideTools(request, endpoint.spec.upstreamModel))
  )
}

/**
 * Whether an endpoint supports a parameter: as its catalog entry says, and a JSON schema
 * (`structured_outputs`) besides wherever it takes `response_format` and the gateway enforces the
 * schema itself (a forced tool for Anthropic, and for Claude and Nova on Bedrock; Gemini's
 * `responseJsonSchema`), whatever a synced or hand-written entry lists.
 */
export function supports(endpoint: Endpoint, parameter: string): boolean {
  const listed = endpoint.spec.supportedParameters
  if (listed.includes(parameter)) return true
  return parameter === 'structured_outputs' && listed.includes('response_format') && enforcesSchemas(endpoint)
}

function enforcesSchemas(endpoint: Endpoint): boolean {
  const { format } = endpoint.provider
  return format === 'anthropic' || format === 'gemini' || (format === 'bedrock' && takesForcedTool(endpoint.spec.upstreamModel))
}

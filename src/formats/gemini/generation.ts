import * as z from 'zod'
import { GatewayError } from '../../errors'
import { mapParameters, stopList, type ParameterRule } from '../../providers/parameters'
import type { ChatRequest } from '../openai/request'
import { Effort, EFFORT_SHARE, type ReasoningLevel } from '../reasoning'

/**
 * OpenAI sampling parameters, structured output and OpenRouter's `reasoning` → Gemini's
 * `generationConfig`. Parameters Gemini has no field for (`user`, `parallel_tool_calls`,
 * `logprobs`, `logit_bias`, …) are dropped here; `provider.require_parameters` filters endpoints
 * that lack them before this runs.
 */

type Config = Record<string, unknown>

/** OpenAI parameters → `generationConfig` fields (providers/parameters.ts). OpenAI's ranges fit inside Gemini's (temperature 0–2, penalties -2–2), so nothing is clamped. */
const PARAMETERS: readonly ParameterRule[] = [
  { param: 'temperature' },
  { param: 'top_p', to: 'topP' },
  { param: 'top_k', to: 'topK' },
  { param: 'stop', to: 'stopSequences', transform: geminiStops },
  { param: 'seed', transform: int32Seed },
  { param: 'presence_penalty', to: 'presencePenalty' },
  { param: 'frequency_penalty', to: 'frequencyPenalty' },
]

/**
 * Gemini's seed is an int32 (a larger one is its 400); OpenAI's is any integer. One outside the
 * range is wrapped into it, so the same seed still gives the same draw.
 */
function int32Seed(value: unknown): unknown {
  return typeof value === 'number' && Number.isInteger(value) ? Number(BigInt.asIntN(32, BigInt(value))) : value
}

/** Gemini 3 and later, by the model's name as the provider gives it. */
const GEMINI_3_OR_LATER = /gemini-(?:[3-9]|\d{2,})\b/

/** Gemini's limit; more is its 400, so such a request is left to a provider that takes them (Claude, from /v1/messages). */
const MAX_STOP_SEQUENCES = 5

/** `stop` as Gemini takes it: an empty list, which Gemini refuses (a 400: "from 1 … to 5"), asks nothing and is not sent. */
function geminiStops(value: unknown): unknown[] | undefined {
  const stops = stopList(value)
  if (stops.length > MAX_STOP_SEQUENCES) {
    throw new GatewayError(400, 'invalid_request', `stop: Gemini models take at most ${MAX_STOP_SEQUENCES} stop sequences, not ${stops.length}`)
  }
  return stops.length > 0 ? stops : undefined
}

/**
 * Whether JSON mode is left out because the request declares functions: Gemini before 3 refuses
 * the two together (a 400, "Function calling with a response mime type: 'application/json' is
 * unsupported"). Such a request is served with its tools, its answer not held to the format; routing
 * ranks such endpoints after those that honour both (routing/filters.ts honoursSoftParameters).
 */
export function dropsJsonModeBesideTools(request: ChatRequest, upstreamModel: string): boolean {
  return (request.tools?.length ?? 0) > 0 && !GEMINI_3_OR_LATER.test(upstreamModel)
}

/** OpenRouter's unified `reasoning` object; anything malformed is ignored, as other extras are. */
const Reasoning = z.looseObject({
  effort: Effort.nullish(),
  max_tokens: z.number().int().nonnegative().nullish(),
  exclude: z.boolean().nullish(),
  enabled: z.boolean().nullish(),
  /** Claude's `thinking.display`, a Meridian extension: `omitted` (a Responses request without `reasoning.summary`) asks for no thoughts here too. */
  display: z.string().nullish().catch(undefined),
})

/**
 * Effort → `thinkingBudget` tokens. A budget (rather than Gemini 3's `thinkingLevel`) is the one
 * knob both Gemini 2.5 and 3 accept; the top stays within 2.5 Flash's 24,576 ceiling. Thoughts
 * count within `maxOutputTokens`, so a client's own `max_tokens` caps it at the effort's share of
 * it (EFFORT_SHARE), as on Claude: high effort with `max_tokens: 1000` spent all of it thinking
 * and answered nothing.
 */
const THINKING_BUDGET: Record<ReasoningLevel, number> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 24576,
  xhigh: 24576,
  max: 24576,
}

/**
 * The budgets every Gemini thinking model takes: 2.5 Pro 128–32,768, Flash 0–24,576, Flash-Lite
 * 512–24,576; a budget outside its model's range is a 400 ("The thinking budget (52428) is
 * invalid"), so a client's own is brought within the span all of them share.
 */
const BUDGET_RANGE = { min: 512, max: 24_576 }

/**
 * Reasoning turned off, as near as each model comes: 2.5 Flash and Flash-Lite take a zero budget;
 * 2.5 Pro thinks at least 128 tokens; Gemini 3 and later take a level: `minimal` (no thinking for
 * most prompts) where Google lists it, on 3 Flash, 3.1 Flash-Lite and 3.5 Flash, and `low`, the
 * least, on the rest (3.7 and 3.8 Flash refuse `minimal`). Image, speech and live models, and
 * models not named here, are sent nothing.
 */
const THINKING_OFF: readonly [RegExp, Config | null][] = [
  [/image|tts|audio|live|embedding/, null],
  [/gemini-2\.5-flash/, { thinkingBudget: 0 }],
  [/gemini-2\.5-pro/, { thinkingBudget: 128 }],
  [/gemini-3(?:\.[15])?-flash/, { thinkingLevel: 'minimal' }],
  [GEMINI_3_OR_LATER, { thinkingLevel: 'low' }],
]

export interface GenerationOptions {
  maxOutputTokens?: number
  /** The model as the provider names it: how far thinking can be turned off depends on it. */
  upstreamModel?: string
  /**
   * False when the model cannot think (its endpoint lists no `reasoning`): it is sent no
   * `thinkingConfig`, which such a model (Gemini 2.0 Flash, Gemma) refuses with a 400 ("thinking is
   * not supported by this model"), and the client's reasoning fields are ignored, as at OpenRouter.
   */
  thinks?: boolean
}

export function generationConfig(request: ChatRequest, options: GenerationOptions): Config {
  const config: Config = mapParameters(request, PARAMETERS)
  if (options.maxOutputTokens !== undefined) config.maxOutputTokens = options.maxOutputTokens
  if (!dropsJsonModeBesideTools(request, options.upstreamModel ?? '')) Object.assign(config, responseFormat(request))
  const thinking = options.thinks === false ? null : thinkingConfig(request, options.upstreamModel ?? '', options.maxOutputTokens)
  if (thinking) config.thinkingConfig = thinking
  return config
}

/** json_schema uses `responseJsonSchema`, which takes JSON Schema as is (unlike `responseSchema`'s OpenAPI subset). */
function responseFormat(request: ChatRequest): Config {
  const format = request.response_format
  if (format?.type === 'json_object') return { responseMimeType: 'application/json' }
  if (format?.type !== 'json_schema') return {}
  const schema = format.json_schema.schema
  return { responseMimeType: 'application/json', ...(schema ? { responseJsonSchema: schema } : {}) }
}

/**
 * `reasoning.max_tokens` is the budget itself; otherwise `reasoning.effort` (or OpenAI's
 * top-level `reasoning_effort`) picks one. Thoughts are returned unless `reasoning.exclude`
 * (or `include_reasoning: false`, or `display: "omitted"`).
 * Effort "none" and `enabled: false` turn thinking off as far as the model can (THINKING_OFF):
 * Gemini 3 and 2.5 Pro cannot switch it off, and a zero budget is a 400 there (a client's own
 * `max_tokens: 0` is sent as asked).
 */
function thinkingConfig(request: ChatRequest, upstreamModel: string, maxOutputTokens: number | undefined): Config | null {
  const parsed = Reasoning.safeParse(request.reasoning ?? {})
  const reasoning = parsed.success ? parsed.data : {}
  const topLevel = Effort.safeParse(request.reasoning_effort)
  const effort = reasoning.effort ?? (topLevel.success ? topLevel.data : undefined)
  if (effort === 'none' || reasoning.enabled === false) return THINKING_OFF.find(([model]) => model.test(upstreamModel))?.[1] ?? null
  const asked = reasoning.max_tokens ?? (effort ? effortBudget(effort, maxOutputTokens) : undefined)
  // A budget of 0 is the client's "off", sent as it is: Flash honours it (2.5 Pro and 3 refuse it).
  const budget = asked === undefined || asked === 0 ? asked : Math.min(BUDGET_RANGE.max, Math.max(BUDGET_RANGE.min, asked))
  if (budget === undefined && reasoning.enabled !== true) return null
  // Thoughts cannot be asked for with thinking off (Vertex answers 400 to it). include_reasoning:
  // false is the deprecated spelling of exclude.
  const exclude = reasoning.exclude === true || request.include_reasoning === false || reasoning.display === 'omitted'
  return { ...(budget !== undefined ? { thinkingBudget: budget } : {}), includeThoughts: budget !== 0 && !exclude }
}

function effortBudget(effort: ReasoningLevel, maxOutputTokens: number | undefined): number {
  const budget = THINKING_BUDGET[effort]
  return maxOutputTokens === undefined ? budget : Math.min(budget, Math.floor(maxOutputTokens * EFFORT_SHARE[effort]))
}

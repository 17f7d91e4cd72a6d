import * as z from 'zod'
import type { ChatRequest } from '../openai/request'
import { Effort, EFFORT_SHARE, type ReasoningLevel } from '../reasoning'
import { isThinking, type Body, type Turn } from './wire'

/**
 * OpenRouter's `reasoning` (and OpenAI's `reasoning_effort`) → Anthropic extended thinking.
 *
 * Budget: `reasoning.max_tokens` is the budget itself; an effort takes OpenRouter's documented
 * share of max_tokens (max/xhigh 95%, high 80%, medium 50%, low 20%, minimal 10%; `enabled`
 * alone means medium), kept within [1024, 128000]. Anthropic wants max_tokens above the budget,
 * so when it is not, max_tokens is raised to budget + the requested max_tokens within the
 * endpoint's cap, and if the cap still leaves no room the budget shrinks to 95% of max_tokens;
 * below 1024 thinking is not sent. A request whose max_tokens bounds its reasoning too (the
 * Responses API's `max_output_tokens`, carried as `reasoning.within_max_tokens`) never has it
 * raised: the budget shrinks to fit under it.
 *
 * Thinking forbids a changed temperature or top_k and allows top_p only in [0.95, 1], so
 * temperature and top_k are dropped and top_p raised. It is also incompatible with a forced tool
 * (including the structured-output tool), with an assistant prefill, and with continuing a
 * tool-use turn whose assistant message lost its thinking blocks, and models from before it (Claude
 * 3.5 and older) refuse it; then thinking is not sent, so the request still succeeds.
 *
 * Models that take only adaptive thinking get `thinking: {type: 'adaptive'}` and the effort as
 * `output_config.effort` instead of a budget, and so do Opus and Sonnet 4.6, which take both (a
 * budget is deprecated there), unless the client gave a budget of its own.
 *
 * Display: Claude returns its thinking summarized or omitted (empty text, the signature kept), and
 * the default differs by model (omitted on the adaptive-only ones). A chat completion that asked
 * for reasoning gets it summarized on every model, or omitted when it excluded the reasoning; a
 * `reasoning.display` says otherwise (a response sets it from `reasoning.summary`), and null leaves
 * the model's default (/v1/messages without one, as Anthropic would). It is sent only where it is
 * not the model's default, and never to Claude 3.7, which has none.
 *
 * Effort without thinking: OpenRouter's `verbosity` is Claude's `output_config.effort` (and
 * /v1/messages' effort beside a budget, or with no thinking, arrives as `verbosity`). It is sent to
 * the models that take effort, at the nearest level each has; thinking's own effort wins.
 */

const Reasoning = z.looseObject({
  effort: Effort.nullish(),
  max_tokens: z.number().int().nonnegative().nullish(),
  exclude: z.boolean().nullish(),
  enabled: z.boolean().nullish(),
  /** Claude's `thinking.display` (a Meridian extension; /v1/messages carries its own here, null when it set none). */
  display: z.string().nullish().catch(undefined),
  /** max_tokens bounds the reasoning too, as the Responses API's max_output_tokens does (a Meridian extension). */
  within_max_tokens: z.boolean().nullish().catch(undefined),
})

/** Claude's effort levels, low to high; `minimal` asks for its lowest. */
const EFFORT_LEVELS = ['low', 'medium', 'high', 'xhigh', 'max'] as const
type EffortLevel = (typeof EFFORT_LEVELS)[number]
const MIN_BUDGET = 1024
const MAX_BUDGET = 128_000
const MIN_TOP_P = 0.95

// budget_tokens is a 400 on these (Opus 4.7+, the Claude 5 generation, Fable, Mythos).
const ADAPTIVE_ONLY = /claude-(?:opus-4-[7-9]|(?:opus|sonnet|haiku)-[5-9]|fable|mythos)/
// These take adaptive thinking too, where budget_tokens is deprecated: given an effort and no budget, they get it.
const ADAPTIVE_TOO = /claude-(?:opus|sonnet)-4-6/
// Models from before extended thinking (Claude 2, Instant, 3 and 3.5) refuse `thinking` with a 400.
const NO_THINKING = /claude-(?:instant|v?2|3-(?:opus|sonnet|haiku)|3-5-)/
// Claude 3.7 returns its whole thinking, with no display to choose.
const NO_DISPLAY = /claude-3-7-/
// Which models take `output_config.effort`, and which of its top levels (Anthropic's effort page).
const EFFORT = /claude-(?:opus-4-[5-9]|sonnet-4-[6-9]|(?:opus|sonnet)-[5-9]|haiku-(?:5-[5-9]|[6-9])|fable|mythos)/
const EFFORT_MAX = /claude-(?:opus-4-[6-9]|sonnet-4-[6-9]|(?:opus|sonnet)-[5-9]|fable|mythos)/
const EFFORT_XHIGH = /claude-(?:opus-4-[7-9]|(?:opus|sonnet)-[5-9]|fable|mythos-(?!preview))/

/** The effort `upstreamModel` takes for `wanted`: the nearest level it has at or below, or null when it takes none. */
export function effortFor(upstreamModel: string, wanted: ReasoningLevel | EffortLevel): EffortLevel | null {
  if (!EFFORT.test(upstreamModel)) return null
  let level: EffortLevel = wanted === 'minimal' ? 'low' : wanted
  if (level === 'max' && !EFFORT_MAX.test(upstreamModel)) level = 'xhigh'
  if (level === 'xhigh' && !EFFORT_XHIGH.test(upstreamModel)) level = 'high'
  return level
}

export interface ReasoningRequest {
  /** `unset`: the client said nothing about reasoning; `off`: it turned reasoning off. */
  state: 'unset' | 'off' | 'on'
  effort: ReasoningLevel | null
  budget: number | null
  /** The model reasons but the answer leaves the reasoning out. */
  exclude: boolean
  /** `summarized`, `omitted` or a newer value; null: the model's default. */
  display: string | null
  /** max_tokens is a bound on reasoning and answer together: a budget is fitted under it, never raises it. */
  withinMax: boolean
}

/** Reads the unified `reasoning` object; malformed values are ignored, as other extras are. */
export function reasoningOf(request: ChatRequest): ReasoningRequest {
  const parsed = Reasoning.safeParse(request.reasoning ?? {})
  const reasoning = parsed.success ? parsed.data : {}
  const topLevel = Effort.safeParse(request.reasoning_effort)
  const effort = reasoning.effort ?? (topLevel.success ? topLevel.data : null)
  // include_reasoning: false is the deprecated spelling of exclude.
  const exclude = reasoning.exclude === true || request.include_reasoning === false
  const display = reasoning.display === undefined ? (exclude ? 'omitted' : 'summarized') : reasoning.display
  const withinMax = reasoning.within_max_tokens === true
  if (effort === 'none' || reasoning.enabled === false || reasoning.max_tokens === 0) return { state: 'off', effort: null, budget: null, exclude, display, withinMax }
  const on = reasoning.enabled === true || effort != null || reasoning.max_tokens != null
  return { state: on ? 'on' : 'unset', effort, budget: reasoning.max_tokens ?? null, exclude, display, withinMax }
}

/** Whether Anthropic would refuse thinking on this request (see the module comment). */
export function thinkingBlocked(turns: Turn[], toolChoice: Body | null): boolean {
  if (toolChoice?.type === 'any' || toolChoice?.type === 'tool') return true
  const last = turns.at(-1)
  if (last?.role === 'assistant') return true
  const previous = turns.at(-2)
  const continuing = last?.content.some((block) => block.type === 'tool_result') && previous?.role === 'assistant'
  return Boolean(continuing && previous?.content.some((block) => block.type === 'tool_use') && !isThinking(previous?.content[0]))
}

/** Whether the model has extended thinking at all (its thinking blocks mean nothing to an older one). */
export function canThink(upstreamModel: string): boolean {
  return !NO_THINKING.test(upstreamModel)
}

type ThinkingOptions = { upstreamModel: string; maxTokens: number; maxTokensCap: number; blocked: boolean; interleaved?: boolean }

/**
 * Claude's sampling fields for the request's reasoning. Claude since Opus 4.1 and Sonnet 4.5
 * refuses `temperature` beside `top_p` ("use only one"), which OpenAI's clients often send together
 * (`temperature: 0.7, top_p: 1`); where both are left, the temperature is kept.
 */
export function applyThinking(body: Body, reasoning: ReasoningRequest, options: ThinkingOptions): void {
  setThinking(body, reasoning, options)
  if (typeof body.temperature === 'number' && typeof body.top_p === 'number') delete body.top_p
}

function setThinking(body: Body, reasoning: ReasoningRequest, options: ThinkingOptions): void {
  const adaptiveOnly = ADAPTIVE_ONLY.test(options.upstreamModel)
  const adaptive = adaptiveOnly || (ADAPTIVE_TOO.test(options.upstreamModel) && reasoning.budget === null)
  if (reasoning.state === 'off' && adaptiveOnly) body.thinking = { type: 'disabled' }
  if (reasoning.state !== 'on' || options.blocked || !canThink(options.upstreamModel)) return
  const { display: wanted } = reasoning
  const display = wanted === null || wanted === (adaptiveOnly ? 'omitted' : 'summarized') || NO_DISPLAY.test(options.upstreamModel) ? {} : { display: wanted }
  if (adaptive) {
    body.thinking = { type: 'adaptive', ...display }
    const effort = reasoning.effort && effortFor(options.upstreamModel, reasoning.effort)
    if (effort) body.output_config = { effort }
    delete body.top_p
  } else {
    // With interleaved thinking a client's own budget may exceed max_tokens (Anthropic's docs): both go as sent.
    const { budget } = reasoning
    const planned =
      options.interleaved === true && budget !== null && budget >= MIN_BUDGET
        ? { budget: Math.min(MAX_BUDGET, budget), maxTokens: options.maxTokens }
        : budgetFor(reasoning, options.maxTokens, reasoning.withinMax ? options.maxTokens : Math.max(options.maxTokensCap, options.maxTokens))
    if (!planned) return
    body.max_tokens = planned.maxTokens
    body.thinking = { type: 'enabled', budget_tokens: planned.budget, ...display }
    if (typeof body.top_p === 'number') body.top_p = Math.max(MIN_TOP_P, body.top_p)
  }
  delete body.temperature
  delete body.top_k
}

/** OpenRouter's `verbosity` as Claude's effort, where thinking set none (see the module comment). */
export function applyVerbosity(body: Body, verbosity: unknown, upstreamModel: string): void {
  const wanted = EFFORT_LEVELS.find((level) => level === verbosity)
  const effort = wanted && effortFor(upstreamModel, wanted)
  if (!effort || (typeof body.output_config === 'object' && body.output_config !== null)) return
  body.output_config = { effort }
}

function budgetFor(reasoning: ReasoningRequest, maxTokens: number, cap: number): { budget: number; maxTokens: number } | null {
  const wanted = reasoning.budget ?? Math.floor(maxTokens * EFFORT_SHARE[reasoning.effort ?? 'medium'])
  let budget = Math.min(MAX_BUDGET, Math.max(MIN_BUDGET, wanted))
  let max = maxTokens
  if (budget >= max) {
    max = Math.min(cap, budget + maxTokens)
    budget = Math.min(budget, Math.floor(max * EFFORT_SHARE.max))
  }
  return budget < MIN_BUDGET ? null : { budget, maxTokens: max }
}

import * as z from 'zod'
import type { ToolCall } from './openai/request'

/**
 * What every upstream adapter produces, whatever the provider spoke: a finished completion, or a
 * sequence of stream events. Renderers (OpenAI JSON/SSE today, Anthropic for /v1/messages later)
 * turn these into a wire format. Fields mirror OpenAI's, the canonical form.
 */

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error'

export interface TokenUsage {
  /** All prompt tokens, cached ones included (OpenAI's meaning of prompt_tokens). */
  promptTokens: number
  completionTokens: number
  /** Prompt tokens read from the provider's cache. */
  cachedTokens: number
  /** Prompt tokens written to the provider's cache. */
  cacheWriteTokens: number
  /** Of cacheWriteTokens, those kept for an hour (Anthropic's `ttl: "1h"`), dearer; absent: none. */
  cacheWrite1hTokens?: number
  /** Completion tokens spent on reasoning (a subset of completionTokens). */
  reasoningTokens: number
}

/**
 * The one rule for usage in every upstream format. A count a provider bills on: a fraction
 * (partial tokens) rounds up; a string, a negative or a number past 2^53 fails, and usage holding
 * one, or lacking a count the format always sends, is read as no usage: estimated, never charged
 * as zero. Schemas read usage with `.nullish().catch(null)` for this.
 */
export const BilledTokenCount = z.number().nonnegative().max(Number.MAX_SAFE_INTEGER).transform(Math.ceil)

/**
 * A count within another one (cached tokens of the prompt, reasoning tokens of the completion): it
 * never raises a charge, so a bad one is read as absent.
 */
export const SubsetTokenCount = BilledTokenCount.nullish().catch(null)

/**
 * Usage from providers that count cache reads and writes apart from the uncached input
 * (Anthropic, Bedrock): canonical prompt tokens include them. These providers always send both
 * input and output counts, so usage lacking either is no usage (estimated).
 */
export function usageWithSeparateCache(counts: {
  input: number | null | undefined
  output: number | null | undefined
  cacheRead: number | null | undefined
  cacheWrite: number | null | undefined
  /** Of cacheWrite, the tokens written for an hour (Anthropic's breakdown). */
  cacheWrite1h?: number | null | undefined
}): TokenUsage | null {
  if (counts.input == null || counts.output == null) return null
  const cachedTokens = counts.cacheRead ?? 0
  const cacheWriteTokens = counts.cacheWrite ?? 0
  const usage: TokenUsage = {
    promptTokens: counts.input + cachedTokens + cacheWriteTokens,
    completionTokens: counts.output,
    cachedTokens,
    cacheWriteTokens,
    reasoningTokens: 0,
  }
  if (counts.cacheWrite1h) usage.cacheWrite1hTokens = Math.min(counts.cacheWrite1h, cacheWriteTokens)
  return usage
}

export const ZERO_USAGE: TokenUsage = {
  promptTokens: 0,
  completionTokens: 0,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
}

export interface AssistantMessage {
  role: 'assistant'
  content: string | null
  refusal: string | null
  reasoning?: string | null
  tool_calls?: ToolCall[]
  /** Other OpenAI message fields an upstream sent (annotations, images, audio) pass through. */
  [extra: string]: unknown
}

/**
 * A choice's log probabilities as an OpenAI-format upstream sent them (`content` and `refusal`,
 * lists of tokens with their top alternatives), passed through to chat completions clients.
 */
export type Logprobs = Record<string, unknown>

export interface Completion {
  message: AssistantMessage
  logprobs?: Logprobs | null
  finishReason: FinishReason
  nativeFinishReason: string | null
  /** Null when the upstream reported none; the gateway then estimates. */
  usage: TokenUsage | null
  systemFingerprint?: string | null
  /**
   * Characters generated that the message leaves out (thinking under `reasoning.exclude`, text
   * dropped beside a JSON answer): counted by an estimate, as a stream's `hidden` events are.
   */
  hiddenCharacters?: number
}

/** The `hiddenCharacters` field for text left out of a completion; none for none. */
export function hiddenField(characters: number): { hiddenCharacters?: number } {
  return characters > 0 ? { hiddenCharacters: characters } : {}
}

/** One streamed tool-call fragment in OpenAI's incremental shape. */
export interface ToolCallDelta {
  index: number
  id?: string
  type?: 'function'
  function?: { name?: string; arguments?: string }
  /**
   * Vendor data on the call, passed on as sent: Gemini's OpenAI-compatible API puts the call's
   * thought signature here (`{google: {thought_signature}}`), which Gemini 3 wants back with it.
   */
  extra_content?: unknown
}

export interface Delta {
  role?: 'assistant'
  content?: string
  reasoning?: string
  refusal?: string
  tool_calls?: ToolCallDelta[]
  [extra: string]: unknown
}

export type StreamEvent =
  /** `counted`: its characters were counted already, as `hidden` while held back (json-tool.ts). */
  | { type: 'delta'; delta: Delta; logprobs?: Logprobs; counted?: true }
  | { type: 'finish'; finishReason: FinishReason; nativeFinishReason: string | null }
  /**
   * Usage so far (cumulative: the last one stands). Null: the upstream sent usage the gateway
   * cannot bill on, so what it sent before no longer stands either (estimated, unless good usage
   * follows).
   */
  | { type: 'usage'; usage: TokenUsage | null }
  /** `status`: the HTTP status the upstream gives this error elsewhere, when it says the request is at fault or rate-limited. */
  | { type: 'error'; message: string; raw: unknown; status?: number }
  /**
   * Text the upstream generated that the client is not shown (thinking under `reasoning.exclude`):
   * never relayed, but counted as shown thinking is (redacted thinking is not), so that a stream
   * cut before its usage is charged an estimate of all it generated. It opens the stream as shown
   * thinking does: an error after it is a mid-stream error, not a failover (as Anthropic's
   * decoder, opening on a hidden block's start, always had it), and long hidden thinking is not
   * cut at TIMEOUT_FIRST_BYTE_MS to be generated, and paid for, again elsewhere.
   */
  | { type: 'hidden'; characters: number }

/** A hidden event for generated text the client is not shown; none for no text. */
export function hiddenEvents(text: string | null | undefined): StreamEvent[] {
  return text ? [{ type: 'hidden', characters: text.length }] : []
}

/** The usage event for what a decoder read: none when the message carried no usage (undefined). */
export function usageEvents(usage: TokenUsage | null | undefined): StreamEvent[] {
  return usage === undefined ? [] : [{ type: 'usage', usage }]
}

const FINISH_REASONS: Record<string, FinishReason> = {
  // OpenAI and the OpenAI-compatible family
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
  error: 'error',
  // Mistral: the model's context was reached; DeepSeek: the generation was cut off for lack of resources
  model_length: 'length',
  insufficient_system_resource: 'error',
  // Anthropic
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
}

/** A finish after tool calls: `stop` means the calls (the native reason stays as it came). */
export function withCalls(reason: FinishReason): FinishReason {
  return reason === 'stop' ? 'tool_calls' : reason
}

/**
 * The finish of a turn that made `toolCalls` calls: the calls decide whether it is `tool_calls`.
 * An Anthropic-compatible server may say `end_turn` beside a call (vLLM), and a provider may say
 * `tool_use`/`tool_calls` with none: agent loops branch on it.
 */
export function finishWithCalls(reason: FinishReason, toolCalls: number): FinishReason {
  if (toolCalls > 0) return withCalls(reason)
  return reason === 'tool_calls' ? 'stop' : reason
}

/** Maps a provider's finish word onto OpenAI's five; unknown words count as a normal stop. */
export function normalizeFinishReason(native: string | null | undefined): FinishReason {
  return (native && FINISH_REASONS[native]) || 'stop'
}

/**
 * The text of the user turn a conversation gets where the provider wants one and the client sent
 * none: only a system prompt (Anthropic, Gemini and Converse refuse no messages), or an opening
 * greeting of the assistant (Converse: "A conversation must start with a user message"). Empty text
 * is refused too.
 */
export const OPENING_TURN = '.'

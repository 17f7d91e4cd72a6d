import { nanoToUsd } from '../../catalog/pricing'
import type { Completion, FinishReason, Logprobs, TokenUsage } from '../canonical'

/**
 * Canonical results → the OpenAI (OpenRouter dialect) wire shapes clients read: `gen-` ids, the
 * serving `provider`, the catalog `model`, a string `system_fingerprint`, `refusal: null`,
 * `native_finish_reason`, and `usage.cost` in USD on every response and final stream chunk.
 */

/** A finish reason as the OpenAI wire carries it: the canonical ones, and legacy function calling's. */
export type WireFinishReason = FinishReason | 'function_call'

export interface ResponseMeta {
  id: string
  created: number
  /** The catalog model that served the request (after fallback). */
  model: string
  /** The serving provider's display name. */
  provider: string
  systemFingerprint: string
}

export interface UsageReport {
  usage: TokenUsage
  /** Exact cost in nano-USD (the ledger unit); shown to clients in USD. */
  costNano: number
}

export function renderUsage({ usage, costNano }: UsageReport) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens, cache_write_tokens: usage.cacheWriteTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    cost: nanoToUsd(costNano),
    is_byok: false,
  }
}

function envelope(meta: ResponseMeta, object: 'chat.completion' | 'chat.completion.chunk') {
  return {
    id: meta.id,
    provider: meta.provider,
    model: meta.model,
    object,
    created: meta.created,
    system_fingerprint: meta.systemFingerprint,
  }
}

/**
 * `completion.message` may be the canonical message or its wire form for the client (a legacy
 * `function_call`, custom tool calls: gateway/renderer.ts).
 */
export function renderCompletion(
  meta: ResponseMeta,
  completion: Omit<Completion, 'message'> & { message: object },
  report: UsageReport,
  finishReason: WireFinishReason = completion.finishReason,
) {
  return {
    ...envelope(meta, 'chat.completion'),
    choices: [
      {
        index: 0,
        logprobs: completion.logprobs ?? null,
        finish_reason: finishReason,
        native_finish_reason: completion.nativeFinishReason,
        message: completion.message,
      },
    ],
    usage: renderUsage(report),
  }
}

/** `delta`: canonical, or its wire form for the client (as `renderCompletion`'s message). */
export function renderDeltaChunk(meta: ResponseMeta, delta: object, logprobs: Logprobs | null = null) {
  return {
    ...envelope(meta, 'chat.completion.chunk'),
    choices: [{ index: 0, delta, finish_reason: null, native_finish_reason: null, logprobs }],
  }
}

export function renderFinishChunk(meta: ResponseMeta, finishReason: WireFinishReason, nativeFinishReason: string | null) {
  return {
    ...envelope(meta, 'chat.completion.chunk'),
    choices: [{ index: 0, delta: {}, finish_reason: finishReason, native_finish_reason: nativeFinishReason, logprobs: null }],
  }
}

export function renderUsageChunk(meta: ResponseMeta, report: UsageReport) {
  return { ...envelope(meta, 'chat.completion.chunk'), choices: [], usage: renderUsage(report) }
}

/** A failure after the first byte: the status is already 200, so the error travels in a chunk. */
export function renderErrorChunk(meta: ResponseMeta, error: { code: number; message: string; metadata: object }) {
  return {
    ...envelope(meta, 'chat.completion.chunk'),
    error,
    choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error', native_finish_reason: 'error', logprobs: null }],
  }
}

import * as z from 'zod'
import { BilledTokenCount, type Completion, type FinishReason, SubsetTokenCount, type TokenUsage } from '../canonical'
import type { ToolCall } from '../openai/request'
import { statusOfErrorCode } from '../openai/response'
import { signatureDetail, type SignatureDetail } from './signatures'

/**
 * Gemini `GenerateContentResponse` (validated at the boundary) → the canonical Completion. The
 * schemas and the part/usage/finish helpers are shared with the stream decoder, whose chunks are
 * partial responses of the same shape.
 */

/**
 * Read with `.nullish().catch(null)`: see BilledTokenCount. Gemini leaves out the candidates count
 * when there are none (a blocked prompt), so only the prompt count is required.
 */
export const GeminiUsage = z.looseObject({
  promptTokenCount: BilledTokenCount.nullish(),
  candidatesTokenCount: BilledTokenCount.nullish(),
  cachedContentTokenCount: SubsetTokenCount,
  thoughtsTokenCount: BilledTokenCount.nullish(),
  toolUsePromptTokenCount: SubsetTokenCount,
  totalTokenCount: SubsetTokenCount,
})
export type GeminiUsage = z.infer<typeof GeminiUsage>

const Part = z.looseObject({
  text: z.string().nullish(),
  thought: z.boolean().nullish(),
  thoughtSignature: z.string().nullish(),
  functionCall: z
    .looseObject({ id: z.string().nullish(), name: z.string(), args: z.record(z.string(), z.unknown()).nullish() })
    .nullish(),
})
type Part = z.infer<typeof Part>

export const GeminiChunk = z.looseObject({
  candidates: z
    .array(
      z.looseObject({
        content: z.looseObject({ parts: z.array(Part).nullish() }).nullish(),
        finishReason: z.string().nullish(),
      }),
    )
    .nullish(),
  promptFeedback: z.looseObject({ blockReason: z.string().nullish() }).nullish(),
  usageMetadata: GeminiUsage.nullish().catch(null),
  responseId: z.string().nullish(),
})
export type GeminiChunk = z.infer<typeof GeminiChunk>

// A whole response must say something: candidates, or why there are none.
const GeminiResponse = GeminiChunk.refine((body) => body.candidates != null || body.promptFeedback != null, {
  message: 'a Gemini response has candidates or promptFeedback',
})

const GeminiErrorBody = z.looseObject({ error: z.looseObject({ message: z.string() }) })

const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT'])

/** The model tried to call a function and failed (its call did not parse, or named no declared tool): the turn carries nothing usable. */
const FAILED_CALL = new Set(['MALFORMED_FUNCTION_CALL', 'UNEXPECTED_TOOL_CALL'])

/**
 * Gemini has no "tool calls" finish reason: a turn that calls functions ends with STOP, so calls
 * seen turn a normal stop into `tool_calls`. Filters and MAX_TOKENS keep their meaning; a failed
 * call is an `error` (as an empty stop, agents took it for a finished turn with no answer); any
 * other word (OTHER, …) counts as a stop. The raw word is kept as native.
 */
export function geminiFinishReason(native: string | null, toolCalls: number): FinishReason {
  if (native === 'MAX_TOKENS') return 'length'
  if (native && FILTERED.has(native)) return 'content_filter'
  if (native && FAILED_CALL.has(native)) return 'error'
  return toolCalls > 0 ? 'tool_calls' : 'stop'
}

/**
 * Gemini counts thoughts apart from candidates; both are billed as output, so both are completion
 * tokens. The candidates count is not always sent with an answer; the total then says what it is.
 */
export function usageFromGemini(usage: GeminiUsage): TokenUsage | null {
  if (usage.promptTokenCount == null) return null
  const thoughts = usage.thoughtsTokenCount ?? 0
  const counted = usage.promptTokenCount + thoughts + (usage.toolUsePromptTokenCount ?? 0)
  const candidates = usage.candidatesTokenCount ?? Math.max(0, (usage.totalTokenCount ?? counted) - counted)
  return {
    promptTokens: usage.promptTokenCount,
    completionTokens: candidates + thoughts,
    cachedTokens: usage.cachedContentTokenCount ?? 0,
    cacheWriteTokens: 0,
    reasoningTokens: thoughts,
  }
}

/**
 * Gemini may omit function-call ids, so one is derived from the response id and the call's
 * position: the same response yields the same ids whether streamed or not.
 */
export function toolCallId(part: { id?: string | null }, responseId: string | null | undefined, index: number): string {
  if (part.id) return part.id
  return `call_${responseId ?? crypto.randomUUID().replaceAll('-', '')}_${index}`
}

/** What one candidate's parts say, in canonical pieces; `firstCall` numbers the calls across stream chunks. */
export function readParts(parts: Part[], responseId: string | null | undefined, firstCall = 0) {
  let text = ''
  let reasoning = ''
  const toolCalls: ToolCall[] = []
  const signatures: SignatureDetail[] = []
  for (const part of parts) {
    if (part.functionCall) {
      const index = firstCall + toolCalls.length
      const id = toolCallId(part.functionCall, responseId, index)
      toolCalls.push({ id, type: 'function', function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) } })
      if (part.thoughtSignature) signatures.push(signatureDetail(id, part.thoughtSignature, index))
    } else if (part.text && part.thought) reasoning += part.text
    else if (part.text) text += part.text
  }
  return { text, reasoning, toolCalls, signatures }
}

/** Parses a non-streaming Gemini body; throws a ZodError on garbage. */
export function fromGemini(body: unknown): Completion {
  const parsed = GeminiResponse.parse(body)
  const usage = parsed.usageMetadata ? usageFromGemini(parsed.usageMetadata) : null
  const candidate = parsed.candidates?.[0]
  if (!candidate) {
    // The prompt itself was blocked: an answer with nothing in it, not an upstream failure.
    const native = parsed.promptFeedback?.blockReason ?? null
    return { message: { role: 'assistant', content: null, refusal: null }, finishReason: native ? 'content_filter' : 'stop', nativeFinishReason: native, usage }
  }
  const { text, reasoning, toolCalls, signatures } = readParts(candidate.content?.parts ?? [], parsed.responseId)
  const native = candidate.finishReason ?? null
  return {
    message: {
      role: 'assistant',
      content: text || null,
      refusal: null,
      ...(reasoning ? { reasoning } : {}),
      ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
      ...(signatures.length ? { reasoning_details: signatures } : {}),
    },
    finishReason: geminiFinishReason(native, toolCalls.length),
    nativeFinishReason: native,
    usage,
  }
}

/** The message of a Gemini error body (`{ error: { code, message, status } }`, sometimes inside an array). */
export function geminiErrorMessage(body: unknown): string | null {
  const parsed = GeminiErrorBody.safeParse(Array.isArray(body) ? body[0] : body)
  return parsed.success ? parsed.data.error.message : null
}

/**
 * The HTTP status an error event in a stream gives in its `code`, as over HTTP; none for a fault
 * that is our key's (geminiProviderFault): that is the provider's failure, which another may serve.
 */
export function geminiErrorStatus(body: unknown): number | undefined {
  const error = Array.isArray(body) ? body[0] : body
  const code = typeof error === 'object' && error !== null ? (error as { error?: { code?: unknown } }).error?.code : undefined
  const status = statusOfErrorCode(code)
  return status === undefined || geminiProviderFault(status, body) ? undefined : status
}

const GeminiFault = z.looseObject({
  error: z.looseObject({
    status: z.string().optional(),
    details: z.array(z.looseObject({ reason: z.string().optional() })).optional().catch(undefined),
  }),
})
/** ErrorInfo reasons of a 400 that are about our API key, not the request. */
const KEY_REASONS = new Set(['API_KEY_INVALID', 'API_KEY_EXPIRED', 'API_KEY_SERVICE_BLOCKED'])

/**
 * Google answers a bad or expired API key with 400 INVALID_ARGUMENT (reason API_KEY_INVALID), and
 * a region or free tier the key may not use with 400 FAILED_PRECONDITION: the key's trouble, not
 * the request's.
 */
export function geminiProviderFault(status: number, body: unknown): boolean {
  const parsed = GeminiFault.safeParse(Array.isArray(body) ? body[0] : body)
  if (status !== 400 || !parsed.success) return false
  const { status: code, details } = parsed.data.error
  return code === 'FAILED_PRECONDITION' || (details ?? []).some((detail) => detail.reason !== undefined && KEY_REASONS.has(detail.reason))
}

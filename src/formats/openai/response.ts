import * as z from 'zod'
import { anthropicErrorStatus } from '../anthropic/response'
import { BilledTokenCount, type Completion, type Delta, hiddenField, normalizeFinishReason, type StreamEvent, SubsetTokenCount, type TokenUsage, finishWithCalls } from '../canonical'
import { MAX_JSON_DEPTH, nestingDepth } from '../../json-depth'
import { ToolCall } from './request'

/**
 * OpenAI chat completion responses as upstreams send them (validated at the boundary, loosely:
 * providers of the OpenAI-compatible family differ in the optional fields) and their conversion
 * to the canonical Completion / StreamEvent.
 */

/**
 * Usage without both billed counts, or with a billed count that is not one, is no usage
 * (`.catch(null)` where it is read). Cache writes can cost more than plain prompt tokens, so they
 * are billed counts too.
 */
const UpstreamUsage = z.looseObject({
  prompt_tokens: BilledTokenCount,
  completion_tokens: BilledTokenCount,
  total_tokens: SubsetTokenCount,
  prompt_tokens_details: z.looseObject({ cached_tokens: SubsetTokenCount, cache_write_tokens: BilledTokenCount.nullish() }).nullish(),
  completion_tokens_details: z.looseObject({ reasoning_tokens: SubsetTokenCount }).nullish().catch(null),
  /** DeepSeek's count of cache reads, where it gives no `prompt_tokens_details`. */
  prompt_cache_hit_tokens: SubsetTokenCount,
})

/**
 * Some OpenAI-compatible servers leave a call's id out (or empty); clients need one to answer it, so
 * one is made up. Empty arguments are `{}`, as OpenAI sends for a call without parameters: clients
 * parse them as JSON.
 */
/** A tool call's id, for a call an upstream sent without one (OpenAI's shape: `call_` and 32 hex digits). */
export function newToolCallId(): string {
  return `call_${crypto.randomUUID().replaceAll('-', '')}`
}

const UpstreamToolCall = ToolCall.extend({ id: z.string().nullish() }).transform((call) => ({
  ...call,
  id: call.id || newToolCallId(),
  function: call.function.arguments === '' ? { ...call.function, arguments: '{}' } : call.function,
}))

/**
 * A message's content: text, or (Mistral's reasoning models) a list of chunks, `text` ones and
 * `thinking` ones whose own list of text chunks is the reasoning. Other chunks carry no text.
 */
const ContentChunk = z.looseObject({
  type: z.string(),
  text: z.string().nullish(),
  thinking: z.union([z.string(), z.array(z.looseObject({ text: z.string().nullish() }))]).nullish(),
})
const UpstreamContent = z.union([z.string(), z.array(ContentChunk)]).nullish()

/** Content as its text and its reasoning (undefined: none sent). */
function contentOf(content: z.infer<typeof UpstreamContent>): { text: string | null | undefined; thinking: string } {
  if (!Array.isArray(content)) return { text: content, thinking: '' }
  let text = ''
  let thinking = ''
  for (const chunk of content) {
    if (chunk.type === 'text') text += chunk.text ?? ''
    else if (chunk.type === 'thinking') thinking += typeof chunk.thinking === 'string' ? chunk.thinking : (chunk.thinking ?? []).map((part) => part.text ?? '').join('')
  }
  return { text, thinking }
}

/** Passed through as sent; a malformed one is left out rather than failing the answer. */
const UpstreamLogprobs = z.looseObject({}).nullish().catch(null)

const UpstreamCompletion = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        message: z.looseObject({
          content: UpstreamContent,
          tool_calls: z.array(UpstreamToolCall).nullish(),
          refusal: z.string().nullish(),
          reasoning: z.string().nullish(),
          reasoning_content: z.string().nullish(),
        }),
        finish_reason: z.string().nullish(),
        logprobs: UpstreamLogprobs,
        /** OpenRouter's shape for a provider that failed after it took the request (finish_reason "error"). */
        error: z.unknown().optional(),
      }),
    )
    .min(1),
  usage: UpstreamUsage.nullish().catch(null),
  system_fingerprint: z.string().nullish(),
  error: z.unknown().optional(),
})

/** Whether a 200 answer carries an error beside its choices, or in its first: no answer, whatever the choices hold. */
function errorBesideChoices(body: { error?: unknown; choices: Array<{ error?: unknown }> }): boolean {
  return [body.error, body.choices[0]?.error].some((error) => (typeof error === 'string' ? error !== '' : typeof error === 'object' && error !== null && ('message' in error || 'code' in error)))
}

const UpstreamToolCallDelta = z.looseObject({
  /** Gemini's OpenAI-compatible endpoint sends none: the place in the chunk's list stands for it (calls are then told apart by id). */
  index: z.number().int().nonnegative().nullish(),
  id: z.string().nullish(),
  type: z.literal('function').nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
  extra_content: z.unknown().optional(),
})

const UpstreamChunk = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        delta: z
          .looseObject({
            role: z.string().nullish(),
            content: UpstreamContent,
            reasoning: z.string().nullish(),
            reasoning_content: z.string().nullish(),
            refusal: z.string().nullish(),
            tool_calls: z.array(UpstreamToolCallDelta).nullish(),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
        logprobs: UpstreamLogprobs,
        error: z.looseObject({ message: z.string().optional(), code: z.unknown().optional() }).nullish().catch(null),
      }),
    )
    .nullish(),
  usage: UpstreamUsage.nullish().catch(null),
  error: z.union([z.string(), z.looseObject({ message: z.string().optional(), code: z.unknown().optional() })]).nullish(),
})

/**
 * The HTTP status an OpenAI-format error's `code` stands for, when it is one: OpenRouter and
 * others put it there for an error sent inside a stream, or with a 200 (`{"code": 429}`); OpenAI's
 * own codes are words (`"rate_limit_exceeded"`), which say nothing here.
 */
export function statusOfErrorCode(code: unknown): number | undefined {
  const status = typeof code === 'string' && /^\d{3}$/.test(code) ? Number(code) : code
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599 ? status : undefined
}

export function usageFromOpenAI(usage: z.infer<typeof UpstreamUsage>): TokenUsage {
  const reasoning = usage.completion_tokens_details?.reasoning_tokens ?? 0
  // OpenAI counts reasoning within completion_tokens. xAI counts it apart, in the total only
  // (total = prompt + completion + reasoning): it is output all the same, and billed as such.
  const apart = reasoning > 0 && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens + reasoning
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens + (apart ? reasoning : 0),
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? usage.prompt_cache_hit_tokens ?? 0,
    cacheWriteTokens: usage.prompt_tokens_details?.cache_write_tokens ?? 0,
    reasoningTokens: reasoning,
  }
}

/** Parses a non-streaming OpenAI-format body; throws a ZodError on garbage. */
export function fromOpenAI(body: unknown): Completion {
  const parsed = UpstreamCompletion.parse(body)
  if (errorBesideChoices(parsed)) throw new Error('an error beside the choices')
  const choice = parsed.choices[0]!
  const { content, tool_calls, refusal, reasoning, reasoning_content, role: _role, ...extra } = choice.message
  // Fields passed through to the client are rendered back: too deep, they would overflow.
  if (nestingDepth(extra) > MAX_JSON_DEPTH || (tool_calls && nestingDepth(tool_calls) > MAX_JSON_DEPTH)) {
    throw new Error(`message fields nested deeper than ${MAX_JSON_DEPTH} levels`)
  }
  const native = choice.finish_reason ?? null
  const { text, thinking } = contentOf(content)
  return {
    message: {
      ...extra,
      role: 'assistant',
      content: text ?? null,
      refusal: refusal ?? null,
      ...(reasoning || reasoning_content || thinking ? { reasoning: reasoning || reasoning_content || thinking } : {}),
      ...(tool_calls?.length ? { tool_calls } : {}),
    },
    ...(renderable(choice.logprobs) ? { logprobs: choice.logprobs } : {}),
    finishReason: finishWithCalls(normalizeFinishReason(native), tool_calls?.length ?? 0),
    nativeFinishReason: native,
    usage: parsed.usage ? usageFromOpenAI(parsed.usage) : null,
    systemFingerprint: parsed.system_fingerprint ?? null,
  }
}

/** A completion with its reasoning left out (`reasoning.exclude`); its tokens are still billed, and counted by an estimate. */
export function withoutReasoning(completion: Completion): Completion {
  const { reasoning, reasoning_details: _details, ...message } = completion.message
  return { ...completion, message, ...hiddenField((completion.hiddenCharacters ?? 0) + (reasoning?.length ?? 0)) }
}

/**
 * Converts one upstream chunk (already JSON-parsed) into canonical events. Empty placeholder
 * chunks and empty `tool_calls` arrays, which some providers send, produce no event.
 */
export function fromOpenAIChunk(body: unknown): StreamEvent[] {
  const text = plainTextDelta(body)
  if (text !== undefined) return text === '' ? [] : [{ type: 'delta', delta: { content: text } }]
  const parsed = UpstreamChunk.safeParse(body)
  if (!parsed.success) return [{ type: 'error', message: 'Upstream sent a malformed stream chunk', raw: body }]
  const chunk = parsed.data
  if (typeof chunk.error === 'string') return [{ type: 'error', message: chunk.error || 'Upstream stream error', raw: chunk.error }]
  // OpenRouter's shape puts it in the choice too, for a provider that failed mid-stream.
  const failed = chunk.error || chunk.choices?.[0]?.error
  if (failed) {
    // As in a body (gateway/failures.ts failureInBody): a code that is a status, else the error's type.
    const status = statusOfErrorCode(failed.code) ?? anthropicErrorStatus({ error: failed })
    return [{ type: 'error', message: failed.message ?? 'Upstream stream error', raw: failed, ...(status ? { status } : {}) }]
  }
  const events: StreamEvent[] = []
  const choice = chunk.choices?.[0]
  if (choice?.delta) {
    const { role: _role, content, reasoning, reasoning_content, refusal, tool_calls, ...extra } = choice.delta
    if (nestingDepth(extra) > MAX_JSON_DEPTH || (tool_calls && nestingDepth(tool_calls) > MAX_JSON_DEPTH)) {
      return [{ type: 'error', message: `Upstream sent a stream chunk nested deeper than ${MAX_JSON_DEPTH} levels`, raw: null }]
    }
    const delta: Delta = { ...extra }
    const { text, thinking } = contentOf(content)
    if (text) delta.content = text
    if (reasoning || reasoning_content || thinking) delta.reasoning = reasoning || reasoning_content || thinking
    if (refusal) delta.refusal = refusal
    if (tool_calls?.length) {
      delta.tool_calls = tool_calls.map((call, place) => ({
        index: call.index ?? place,
        ...(call.id ? { id: call.id, type: 'function' as const } : {}),
        ...(call.function
          ? {
              function: {
                ...(call.function.name ? { name: call.function.name } : {}),
                ...(call.function.arguments != null ? { arguments: call.function.arguments } : {}),
              },
            }
          : {}),
        ...(call.extra_content != null ? { extra_content: call.extra_content } : {}),
      }))
    }
    if (renderable(choice.logprobs)) events.push({ type: 'delta', delta, logprobs: choice.logprobs })
    else if (Object.values(delta).some((value) => value !== undefined && value !== null)) events.push({ type: 'delta', delta })
  }
  if (choice?.finish_reason) {
    events.push({
      type: 'finish',
      finishReason: normalizeFinishReason(choice.finish_reason),
      nativeFinishReason: choice.finish_reason,
    })
  }
  if (chunk.usage) events.push({ type: 'usage', usage: usageFromOpenAI(chunk.usage) })
  // Most chunks carry `usage: null`; usage sent but unreadable makes the stream's usage unknown.
  else if (isRecord(body) && body.usage != null) events.push({ type: 'usage', usage: null })
  return events
}

/** Logprobs are rendered back: too deep, they would overflow there, so they are left out like malformed ones. */
const renderable = (logprobs: Record<string, unknown> | null | undefined): logprobs is Record<string, unknown> =>
  logprobs != null && nestingDepth(logprobs) <= MAX_JSON_DEPTH

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null

/**
 * The fast path for the chunk nearly every stream is made of — one choice whose delta holds only
 * text (and perhaps the role), no finish, no usage — checked by hand because a full schema parse
 * of every chunk was a measurable share of a stream's CPU. Returns the text, or undefined for any
 * other shape, which then goes through the schema.
 */
function plainTextDelta(body: unknown): string | undefined {
  if (!isRecord(body) || body.usage != null || body.error != null || !Array.isArray(body.choices) || body.choices.length !== 1) {
    return undefined
  }
  const choice: unknown = body.choices[0]
  if (!isRecord(choice) || choice.finish_reason != null || choice.logprobs != null || !isRecord(choice.delta)) return undefined
  let text = ''
  for (const [field, value] of Object.entries(choice.delta)) {
    if (field === 'content' && (typeof value === 'string' || value === null)) text = value ?? ''
    else if (field !== 'role' || typeof value !== 'string') return undefined
  }
  return text
}

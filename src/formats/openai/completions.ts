import * as z from 'zod'
import { errorBody, toErrorResponse } from '../../errors'
import type { Renderer } from '../../gateway/renderer'
import type { FinishReason } from '../canonical'
import { SSE_DONE, sseComment, sseData } from '../sse'
import { renderUsage, type ResponseMeta } from './render'
import { ChatRequest } from './request'

/**
 * OpenAI's legacy text completions (POST /completions, `prompt` in, `text` out) served by chat
 * models: the prompt becomes one user message, and the answer is rendered back as
 * `text_completion` objects and chunks. Fields with no chat equivalent are refused, not ignored.
 */

const unsupported = (field: string) => `${field} is not supported: completions are served by chat models`

// Checks of their own, not unions: the error explainer (errors.ts) would show a union option's
// issue (`expected ""`, `prompt[0]: expected string`) in place of these messages.
const isPrompt = (value: unknown): value is string | string[] =>
  typeof value === 'string' || (Array.isArray(value) && value.every((prompt) => typeof prompt === 'string'))

const LegacyFields = z.looseObject({
  prompt: z
    .custom<string | string[]>(isPrompt, { error: 'must be a string (token-id prompts are not supported)' })
    .refine((prompt) => typeof prompt === 'string' || prompt.length === 1, 'only one prompt per request is supported'),
  // An empty suffix asks for nothing, as null does.
  suffix: z.string().max(0, { error: unsupported('suffix') }).nullish(),
  echo: z.literal(false, { error: unsupported('echo') }).nullish(),
  best_of: z.literal(1, { error: unsupported('best_of above 1') }).nullish(),
  logprobs: z.null({ error: unsupported('logprobs') }).optional(),
})

/** Validates a legacy request and yields the canonical chat request (its other fields checked as chat's). */
export const CompletionRequest = LegacyFields.transform(
  ({ prompt, suffix: _suffix, echo: _echo, best_of: _bestOf, logprobs: _logprobs, ...rest }): z.input<typeof ChatRequest> => ({
    ...rest,
    messages: [{ role: 'user', content: typeof prompt === 'string' ? prompt : prompt[0]! }],
  }),
).pipe(ChatRequest)

function envelope(meta: ResponseMeta) {
  return {
    id: meta.id,
    object: 'text_completion',
    created: meta.created,
    model: meta.model,
    provider: meta.provider,
    system_fingerprint: meta.systemFingerprint,
  }
}

function chunk(meta: ResponseMeta, text: string, finishReason: FinishReason | null, nativeFinishReason: string | null = null) {
  return {
    ...envelope(meta),
    choices: [{ text, index: 0, logprobs: null, finish_reason: finishReason, native_finish_reason: nativeFinishReason }],
  }
}

/**
 * Only the answer's text travels: reasoning and tool calls have no place in a text completion. A
 * refusal is the text a model gave instead of an answer, so it travels as the text.
 */
export const textCompletionRenderer: Renderer = {
  json: (meta, completion, report) => ({
    ...envelope(meta),
    choices: [
      {
        text: completion.message.content ?? completion.message.refusal ?? '',
        index: 0,
        logprobs: null,
        finish_reason: completion.finishReason,
        native_finish_reason: completion.nativeFinishReason,
      },
    ],
    usage: renderUsage(report),
  }),
  error: toErrorResponse,
  keepAlive: sseComment('MERIDIAN PROCESSING'),
  stream(meta) {
    return {
      event(event) {
        if (event.type === 'finish') return [sseData(chunk(meta, '', event.finishReason, event.nativeFinishReason))]
        const text = event.delta.content || event.delta.refusal
        return text ? [sseData(chunk(meta, text, null))] : []
      },
      error: (error) => [sseData({ ...chunk(meta, '', 'error', 'error'), error: errorBody(error) })],
      end: (report, debug) => [...(report ? [sseData({ ...envelope(meta), choices: [], usage: renderUsage(report), ...debug })] : []), SSE_DONE],
    }
  },
}

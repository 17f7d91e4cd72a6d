import { type StreamEvent, usageEvents } from '../canonical'
import { jsonEventDecoder } from '../json-events'
import type { SseMessage } from '../sse'
import { GeminiChunk, geminiErrorMessage, geminiErrorStatus, geminiFinishReason, readParts, usageFromGemini } from './response'

/**
 * `streamGenerateContent?alt=sse` → canonical stream events. Every `data:` line is a partial
 * GenerateContentResponse: text and thoughts arrive in pieces, a function call arrives whole in
 * one part (so it is emitted as one complete tool-call delta), and the candidate's finishReason
 * marks the end. usageMetadata is cumulative and repeated, so each one is passed on and the last
 * wins.
 */

export function createGeminiStreamDecoder(): (message: SseMessage) => StreamEvent[] {
  let toolCalls = 0
  let finished = false

  function decode(data: unknown): StreamEvent[] {
    const message = geminiErrorMessage(data)
    if (message !== null) {
      const status = geminiErrorStatus(data)
      return [{ type: 'error', message, raw: data, ...(status === undefined ? {} : { status }) }]
    }
    const chunk = GeminiChunk.parse(data)
    const events: StreamEvent[] = []
    const candidate = chunk.candidates?.[0]
    const parts = readParts(candidate?.content?.parts ?? [], chunk.responseId, toolCalls)
    if (parts.reasoning) events.push({ type: 'delta', delta: { reasoning: parts.reasoning } })
    if (parts.text) events.push({ type: 'delta', delta: { content: parts.text } })
    if (parts.toolCalls.length) {
      const deltas = parts.toolCalls.map((call, i) => ({ index: toolCalls + i, ...call }))
      toolCalls += deltas.length
      events.push({ type: 'delta', delta: { tool_calls: deltas, ...(parts.signatures.length ? { reasoning_details: parts.signatures } : {}) } })
    }
    const native = candidate?.finishReason ?? (candidate ? null : (chunk.promptFeedback?.blockReason ?? null))
    if (native && !finished) {
      finished = true
      // No candidate at all means the prompt was blocked; the finish word is its blockReason.
      const finishReason = candidate ? geminiFinishReason(native, toolCalls) : 'content_filter'
      events.push({ type: 'finish', finishReason, nativeFinishReason: native })
    }
    if (chunk.usageMetadata !== undefined) events.push(...usageEvents(chunk.usageMetadata && usageFromGemini(chunk.usageMetadata)))
    return events
  }

  return jsonEventDecoder('Gemini', decode)
}

import { errorBody, toErrorResponse, type GatewayError } from '../errors'
import type { AssistantMessage, Completion, Delta, StreamEvent, TokenUsage } from '../formats/canonical'
import type { ChatRequest } from '../formats/openai/request'
import {
  renderCompletion,
  renderDeltaChunk,
  renderErrorChunk,
  renderFinishChunk,
  renderUsageChunk,
  type ResponseMeta,
  type UsageReport,
} from '../formats/openai/render'
import { customCallDeltas } from '../formats/openai/custom-tool-stream'
import { NO_CUSTOM_TOOLS, withCustomCalls } from '../formats/openai/custom-tools'
import { legacyDelta, legacyFinishReason, legacyMessage, type ChatAnswerForm } from '../formats/openai/functions'
import { SSE_DONE, sseComment, sseData } from '../formats/sse'

/**
 * The wire format a route answers in. The engine decides what happens (attempts, failover,
 * settlement); a renderer only decides how the canonical results look to the client, so every
 * ingress format shares one engine. Each route picks its renderer: /chat/completions the OpenAI
 * one below, /completions the legacy one, /messages the Anthropic one, /responses the Responses one.
 */
export interface Renderer {
  /**
   * A whole non-streaming answer (the route adds the routing trace beside it). Asynchronous where
   * the answer is kept before it goes out (a stored Responses API response).
   */
  json(meta: ResponseMeta, completion: Completion, report: UsageReport, request: ChatRequest): Record<string, unknown> | Promise<Record<string, unknown>>
  /** The writer of one streamed answer; it holds that stream's state. */
  stream(meta: ResponseMeta, request: ChatRequest): StreamWriter
  /** An error before the first byte, as a whole HTTP response with the error's status. */
  error(error: GatewayError): Response
  /** Sent while the gateway has committed to 200 and is still waiting for an upstream. */
  keepAlive: Uint8Array
  /**
   * A format with no word for an answer its provider ended with an error (`finish_reason:
   * "error"`; Anthropic's has none) answers it as an error, which its clients retry: JSON with
   * `error`'s status, and a stream's writer with its error event. Its tokens are charged all the same.
   */
  errorFinishFails?: true
}

/** The canonical events a writer renders; usage and upstream errors are collected by the relay. */
export type RenderedEvent = Extract<StreamEvent, { type: 'delta' | 'finish' }>

export interface StreamWriter {
  /** SSE messages for one delta or the finish (possibly none). */
  event(event: RenderedEvent): Uint8Array[]
  /**
   * Usage an upstream counted before its answer ended (Anthropic's message_start), for a writer
   * that shows it early; the final report still comes with `end`.
   */
  usageSoFar?(usage: TokenUsage): void
  /** A failure after the status went out. */
  error(error: GatewayError): Uint8Array[]
  /** The stream's last messages: usage with cost (null when nothing was served) and any debug fields; asynchronous as `json` may be. */
  end(report: UsageReport | null, debug: Record<string, unknown>): Uint8Array[] | Promise<Uint8Array[]>
}

/**
 * OpenAI chunks (OpenRouter dialect): keep-alive comments, a final usage chunk, then [DONE]. The
 * answer's tool calls go back in the form the request asked in (`ChatAnswerForm`): with `legacy`,
 * the deprecated `function_call` (formats/openai/functions.ts), for a client that sent
 * `functions`; calls of the request's custom tools in the custom shape
 * (formats/openai/custom-tools.ts).
 */
function openaiChat({ legacy, custom }: ChatAnswerForm): Renderer {
  const wireMessage = (message: AssistantMessage): object => (legacy ? legacyMessage(message) : custom.size ? withCustomCalls(message, custom) : message)
  return {
    json: (meta, completion, report) =>
      legacy || custom.size
        ? renderCompletion(meta, { ...completion, message: wireMessage(completion.message) }, report, legacy ? legacyFinishReason(completion.finishReason) : completion.finishReason)
        : renderCompletion(meta, completion, report),
    error: toErrorResponse,
    keepAlive: sseComment('MERIDIAN PROCESSING'),
    stream(meta) {
      let roleSent = false
      // OpenAI SDKs require `role` on the first delta of a choice; upstreams do not always send it.
      const withRole = (delta: object): object => {
        if (roleSent) return delta
        roleSent = true
        return { role: 'assistant', ...delta }
      }
      const customCalls = custom.size ? customCallDeltas(custom) : null
      const wireDelta = (delta: Delta): object | null => (legacy ? legacyDelta(delta) : customCalls ? customCalls.delta(delta) : delta)
      return {
        event(event) {
          if (event.type === 'delta') {
            const delta = wireDelta(event.delta)
            // A delta held back (a custom call's fragment) still hands on its log probabilities.
            if (!delta) return event.logprobs ? [sseData(renderDeltaChunk(meta, withRole({}), event.logprobs))] : []
            return [sseData(renderDeltaChunk(meta, withRole(delta), event.logprobs))]
          }
          const held = customCalls?.pending()
          const before = held ? [sseData(renderDeltaChunk(meta, withRole(held)))] : roleSent ? [] : [sseData(renderDeltaChunk(meta, withRole({})))]
          const reason = legacy ? legacyFinishReason(event.finishReason) : event.finishReason
          return [...before, sseData(renderFinishChunk(meta, reason, event.nativeFinishReason))]
        },
        error: (error) => [sseData(renderErrorChunk(meta, errorBody(error)))],
        end: (report, debug) => [...(report ? [sseData({ ...renderUsageChunk(meta, report), ...debug })] : []), SSE_DONE],
      }
    },
  }
}

const openaiRenderer = openaiChat({ legacy: false, custom: NO_CUSTOM_TOOLS })
const legacyFunctionsRenderer = openaiChat({ legacy: true, custom: NO_CUSTOM_TOOLS })

/** The renderer of a chat completions request (one of the two shared ones, unless it has custom tools). */
export function chatRenderer(answer: ChatAnswerForm): Renderer {
  if (answer.legacy) return legacyFunctionsRenderer
  return answer.custom.size ? openaiChat(answer) : openaiRenderer
}

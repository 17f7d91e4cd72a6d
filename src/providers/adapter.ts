import type { Endpoint } from '../catalog/snapshot'
import type { Completion, StreamEvent } from '../formats/canonical'
import type { ChatRequest } from '../formats/openai/request'
import type { MessageReader, SseMessage } from '../formats/sse'

/**
 * An upstream HTTP request as fetch's arguments: the runtime builds its one Request object when
 * it is sent, with the attempt's abort signal (a Request built here would be copied again by
 * fetch to add the signal).
 */
export interface UpstreamRequest {
  url: string
  init: { method: 'POST'; headers: Record<string, string>; body: string }
}

/**
 * Sends an upstream request; `signal` aborts it, body included. A redirect is not followed: it
 * would carry the provider's key headers (the runtime drops only `Authorization` across origins)
 * and the tenant's prompt to a host the catalog never named. The 3xx is the provider's failure.
 */
export function send(request: UpstreamRequest, signal: AbortSignal, fetcher: typeof fetch = fetch): Promise<Response> {
  return fetcher(request.url, { ...request.init, signal, redirect: 'manual' })
}

/**
 * An upstream adapter speaks one wire format: it builds the HTTP request for an endpoint from the
 * canonical request and decodes what comes back into canonical results. No I/O happens here; the
 * gateway sends the request and feeds the answers in.
 */
export interface UpstreamCall {
  request: UpstreamRequest
  /** A non-streaming body (parsed JSON) → canonical completion; throws on garbage. */
  decodeCompletion(body: unknown): Completion
  /** Decodes one SSE message of this call's stream (stateful per call). */
  decodeStream(message: SseMessage): StreamEvent[]
  /** Turns a stream body into messages, for upstreams that do not stream SSE (default: `sseMessages`). */
  streamMessages?(body: ReadableStream<Uint8Array>): MessageReader
  /** The human-readable reason inside an upstream error body, if any. */
  errorMessage(body: unknown): string | null
  /**
   * Whether a 4xx answer other than 429 is the provider's own trouble (our key or account with it,
   * its model failing), told by its body or headers: then another provider may serve the request.
   */
  providerFault?(status: number, body: unknown, headers: Headers): boolean
  /**
   * The model may think before its first event and send nothing meanwhile (OpenAI's reasoning
   * models; Gemini's, its thoughts unshown; Claude's on Bedrock, its display omitted), as what was
   * sent lets it: a stream then has TIMEOUT_FIRST_BYTE_REASONING_MS for its first event.
   */
  thinksFirst?: boolean
}

export interface PrepareOptions {
  stream: boolean
  /** Anthropic betas to ask for; only an Anthropic-format upstream is sent them. */
  betas: readonly string[]
}

export interface Adapter {
  /**
   * May throw (or reject with) a 400 GatewayError when the request cannot be expressed in this
   * format. Asynchronous only where building the request needs WebCrypto (SigV4 signing).
   */
  prepare(request: ChatRequest, endpoint: Endpoint, apiKey: string, options: PrepareOptions): UpstreamCall | Promise<UpstreamCall>
}

/** `${baseUrl}/${path}` without doubled slashes. */
export function upstreamUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path}`
}

export function jsonRequest(url: string, headers: Record<string, string>, body: unknown): UpstreamRequest {
  return {
    url,
    init: {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(body),
    },
  }
}

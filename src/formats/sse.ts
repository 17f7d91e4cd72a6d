import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream'

/**
 * Server-sent events, both directions. Parsing uses `eventsource-parser` (spec-complete: CRLF,
 * multi-line data, comments, BOM), writing is three tiny encoders so there is one SSE writer.
 */

export type SseMessage = EventSourceMessage

/** Upstream body bytes → SSE messages (comments such as keep-alives are dropped by the parser). */
export function parseSse(body: ReadableStream<Uint8Array>): ReadableStream<SseMessage> {
  return body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
}

const encoder = new TextEncoder()

export function sseData(payload: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(payload)}\n\n`)
}

/** A named event (Anthropic's SSE dialect). */
export function sseEvent(event: string, payload: unknown): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`)
}

/** A comment line: clients skip it; proxies see traffic, so idle connections stay open. */
export function sseComment(text: string): Uint8Array {
  return encoder.encode(`: ${text}\n\n`)
}

export const SSE_DONE = encoder.encode('data: [DONE]\n\n')

/** The OpenAI family's end-of-stream sentinel: nothing follows it, whether or not the socket closes. */
export function isDoneSentinel(message: SseMessage): boolean {
  return message.data === '[DONE]'
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
} as const

import { createParser, type EventSourceMessage } from 'eventsource-parser'

/**
 * Server-sent events, both directions. Parsing uses `eventsource-parser` (spec-complete: CRLF,
 * multi-line data, comments, BOM), writing is three tiny encoders so there is one SSE writer.
 */

export type SseMessage = EventSourceMessage

/** Reads a stream's messages one at a time (a ReadableStream's reader is one). */
export interface MessageReader {
  read(): Promise<ReadableStreamReadResult<SseMessage>>
  cancel(reason?: unknown): Promise<void>
}

/** No single event may grow past this (an upstream that never ends a line cannot fill the isolate). */
const MAX_EVENT_BYTES = 8 * 1024 * 1024

/**
 * Upstream body bytes → SSE messages (comments such as keep-alives are dropped by the parser).
 * One reader over the body, no stream stages in between: every network chunk is decoded and
 * parsed in one go, which is most of a stream's cost per chunk (see `npm run bench:profile`).
 */
export function sseMessages(body: ReadableStream<Uint8Array>): MessageReader {
  const bytes = body.getReader()
  const decoder = new TextDecoder()
  const parsed: SseMessage[] = []
  let failure: Error | null = null
  const parser = createParser({
    onEvent: (message) => parsed.push(message),
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') failure = new Error(`Upstream sent an SSE event larger than ${MAX_EVENT_BYTES} bytes`)
    },
    maxBufferSize: MAX_EVENT_BYTES,
  })
  let ended = false
  return {
    async read() {
      while (parsed.length === 0) {
        if (failure) throw failure
        if (ended) return { done: true, value: undefined }
        const chunk = await bytes.read()
        if (chunk.done) ended = true
        parser.feed(chunk.done ? decoder.decode() : decoder.decode(chunk.value, { stream: true }))
      }
      return { done: false, value: parsed.shift() as SseMessage }
    },
    cancel: (reason) => bytes.cancel(reason),
  }
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

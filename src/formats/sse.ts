import { createParser, type EventSourceMessage } from 'eventsource-parser'

/**
 * Server-sent events, both directions. Parsing uses `eventsource-parser` (spec-complete: CRLF,
 * multi-line data, comments, BOM), writing is three tiny encoders so there is one SSE writer.
 */

/** A message, or (`comment`) word that the upstream sent a comment: no event, but a sign it is alive. */
export type SseMessage = EventSourceMessage & { comment?: true }

/**
 * An upstream's comments (OpenRouter's `: OPENROUTER PROCESSING`, sse-starlette's pings) while a
 * model works: read as one message, which consumers skip as an event but count as liveness, as
 * Anthropic's `ping` events are (the idle timeout, the client's keep-alives).
 */
const COMMENT: SseMessage = { data: '', event: undefined, id: undefined, comment: true }

export function isComment(message: SseMessage): boolean {
  return message.comment === true
}

/** Reads a stream's messages one at a time (a ReadableStream's reader is one). */
export interface MessageReader {
  read(): Promise<ReadableStreamReadResult<SseMessage>>
  cancel(reason?: unknown): Promise<void>
}

/** No single event may grow past this (an upstream that never ends a line cannot fill the isolate). */
const MAX_EVENT_BYTES = 8 * 1024 * 1024

/**
 * Upstream body bytes → SSE messages (a run of comments, such as keep-alives, as one COMMENT).
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
    onComment: () => {
      if (parsed.at(-1) !== COMMENT) parsed.push(COMMENT)
    },
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
        // At the body's end a line ending in a lone CR is ended (the parser waits for an LF that may follow it).
        parser.feed(chunk.done ? `${decoder.decode()}\n` : decoder.decode(chunk.value, { stream: true }))
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

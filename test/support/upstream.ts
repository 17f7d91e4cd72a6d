import { vi } from 'vitest'

/**
 * Fake upstream providers, in-process: `fetch` from the Worker is intercepted and routed by base
 * URL to a handler. A base URL with no handler behaves like a refused connection. As the runtime's
 * fetch does, the call's signal, once aborted, rejects the call or errors the body being read,
 * whatever its handler is doing.
 */

export interface RecordedCall {
  url: string
  headers: Headers
  body: Record<string, unknown>
  /** The call's redirect mode. */
  redirect: string
}

export type UpstreamHandler = (call: RecordedCall) => Response | Promise<Response>

export function fakeUpstreams(handlers: Record<string, UpstreamHandler>) {
  const calls: RecordedCall[] = []
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init)
    const text = await request.text()
    const call: RecordedCall = { url: request.url, headers: request.headers, body: text ? JSON.parse(text) : {}, redirect: request.redirect }
    calls.push(call)
    const base = Object.keys(handlers).find((prefix) => request.url.startsWith(prefix))
    if (!base) throw new TypeError('fetch failed: connection refused')
    return abortable(handlers[base]!(call), init?.signal ?? null)
  })
  return { calls }
}

/** As the runtime's fetch does: an aborted signal rejects the call, or errors the body being read. */
function abortable(answer: Response | Promise<Response>, signal: AbortSignal | null): Promise<Response> {
  if (!signal) return Promise.resolve(answer)
  signal.throwIfAborted()
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    Promise.resolve(answer).then((response) => resolve(abortableBody(response, signal)), reject)
  })
}

function abortableBody(response: Response, signal: AbortSignal): Response {
  if (!response.body) return response
  const reader = response.body.getReader()
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      signal.addEventListener('abort', () => {
        controller.error(signal.reason)
        reader.cancel(signal.reason).catch(() => {})
      }, { once: true })
    },
    async pull(controller) {
      const read = await reader.read()
      if (signal.aborted) return
      if (read.done) controller.close()
      else controller.enqueue(read.value)
    },
    cancel: (reason) => reader.cancel(reason),
    // Nothing read ahead: the handler's body is pulled only as the gateway reads it, as over a socket.
  }, { highWaterMark: 0 })
  return new Response(body, response)
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers })
}

/** An OpenAI chat completion body. */
export function openaiCompletion(options: {
  content?: string | null
  tool_calls?: unknown[]
  finish_reason?: string
  usage?: Record<string, unknown>
} = {}) {
  return {
    id: 'chatcmpl-upstream',
    object: 'chat.completion',
    created: 1,
    model: 'upstream-model',
    system_fingerprint: 'fp_upstream',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: options.content === undefined ? 'Hello!' : options.content, ...(options.tool_calls ? { tool_calls: options.tool_calls } : {}) },
        finish_reason: options.finish_reason ?? 'stop',
      },
    ],
    usage: options.usage ?? { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  }
}

/** An Anthropic Messages answer of one text block. */
export function anthropicText(text: string, usage: { input_tokens: number; output_tokens: number } = { input_tokens: 10, output_tokens: 2 }) {
  return {
    id: 'msg_up',
    type: 'message',
    role: 'assistant',
    model: 'claude-test',
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage,
  }
}

/** An Anthropic Messages stream of one text block, from message_start to message_stop. */
export function anthropicTextEvents(text: string, usage: { input_tokens: number; output_tokens: number } = { input_tokens: 10, output_tokens: 2 }): string[] {
  return [
    anthropicEvent('message_start', { message: { id: 'msg_up', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, usage: { input_tokens: usage.input_tokens, output_tokens: 1 } } }),
    anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }),
    anthropicEvent('content_block_stop', { index: 0 }),
    anthropicEvent('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }),
    anthropicEvent('message_stop', {}),
  ]
}

export interface SseOptions {
  /** The stream sends nothing until this settles. */
  hold?: Promise<unknown>
  /** After this many events the stream errors (a connection dropped mid-stream). */
  failAfter?: number
  /** After all events the stream stays open without closing (a stalled upstream). */
  stall?: boolean
  /** After this many events the stream sends nothing more until `until` settles (a long generation). */
  pause?: { after: number; until: Promise<unknown> }
}

/** An SSE response whose body yields the given raw event texts, one per chunk. */
export function sseResponse(events: string[], options: SseOptions = {}): Response {
  const encoder = new TextEncoder()
  let index = 0
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index === 0 && options.hold) await options.hold
      if (index === options.pause?.after) await options.pause.until
      if (options.failAfter !== undefined && index === options.failAfter) {
        controller.error(new Error('upstream connection reset'))
        return
      }
      if (index < events.length) {
        controller.enqueue(encoder.encode(events[index++]!))
        return
      }
      if (options.stall) return new Promise<void>(() => {})
      controller.close()
    },
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
}

export const data = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`
export const named = (event: string, payload: unknown) => `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`
/** An Anthropic stream event: named, its data repeating the name as `type`. */
export const anthropicEvent = (type: string, fields: object) => named(type, { type, ...fields })

/** OpenAI-format stream events as providers send them: an empty role chunk first, then text in
 *  small pieces, a finish chunk, a usage-only chunk, and [DONE]. */
export function openaiStreamEvents(pieces: string[], options: { finish?: string; usage?: object | null } = {}): string[] {
  const chunk = (delta: object, finish: string | null = null) => ({
    id: 'chatcmpl-up',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'upstream-model',
    choices: [{ index: 0, delta, finish_reason: finish }],
  })
  const usage = options.usage === undefined ? { prompt_tokens: 12, completion_tokens: pieces.length, total_tokens: 12 + pieces.length } : options.usage
  return [
    data(chunk({ role: 'assistant', content: '' })),
    ...pieces.map((piece) => data(chunk({ content: piece }))),
    data(chunk({}, options.finish ?? 'stop')),
    ...(usage ? [data({ id: 'chatcmpl-up', object: 'chat.completion.chunk', created: 1, model: 'upstream-model', choices: [], usage })] : []),
    'data: [DONE]\n\n',
  ]
}

/** A promise the test resolves when it chooses: lets a test hold an upstream without sleeping. */
export function latch(): { promise: Promise<void>; release: () => void } {
  let release = () => {}
  const promise = new Promise<void>((resolve) => {
    release = resolve
  })
  return { promise, release }
}

/** An upstream that never answers. */
export const never = (): Promise<Response> => new Promise<Response>(() => {})

/** An upstream that sends its status and headers, and the start of a JSON body, then nothing more. */
export function stalledBody(status: number): UpstreamHandler {
  return () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"error":'))
      },
    })
    return new Response(body, { status, headers: { 'content-type': 'application/json' } })
  }
}

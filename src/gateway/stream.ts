import type { StreamEvent } from '../formats/canonical'
import { isComment, sseMessages, SSE_HEADERS } from '../formats/sse'
import type { ResponseMeta } from '../formats/openai/render'
import { send, type UpstreamCall } from '../providers/adapter'
import { tryEndpoints, type AttemptResult, type Served, type Unserved } from './attempts'
import { failedOutcome, type ExecutionContext, type WaitUntil } from './context'
import { badResponse, failureFromJsonAnswer, failureFromResponse, failureFromThrow, outcomeOfStatus, statusOfError } from './failures'
import { TIMED_OUT, within } from './deadline'
import { servedHeaders, unservedAnswer, type GenerationIdentity } from './identity'
import { relay, Sink, type OpenStream } from './relay'

/** Bytes the relay may write ahead of a slow client before its writes wait. */
const STREAM_BUFFER_BYTES = 64 * 1024

/**
 * A streaming request. Failover is possible until the first upstream event; so the response is
 * held back for up to STREAM_KEEPALIVE_MS, and a request that fails fast still gets a real HTTP
 * error status. A slower upstream makes the gateway commit to 200 and send keep-alive comments
 * until it answers; from then on a failure can only be an error chunk.
 */
export async function streamCompletion(ctx: ExecutionContext, identity: GenerationIdentity, waitUntil: WaitUntil): Promise<Response> {
  // The client has left once request.signal says so, or (the stream committed) its reader is gone.
  const readerGone = new AbortController()
  const attempts: ExecutionContext = { ...ctx, clientGone: AbortSignal.any([ctx.clientGone, readerGone.signal]) }
  const opening = tryEndpoints(attempts, (call) => openStream(attempts, call, firstEventTimeout(ctx, call)))
  const early = await within(opening, ctx.config.STREAM_KEEPALIVE_MS)
  if (early !== TIMED_OUT && !early.ok) {
    const answer = ctx.renderer.error(early.error)
    ctx.finish(failedOutcome(early, answer.status))
    return unservedAnswer(answer, identity, early.attempts)
  }

  // The runtime's own byte pipe: no JavaScript stream stage between the relay and the client (a
  // JS TransformStream costs about 0.03 ms more per chunk here: npm run bench:profile -- --pump).
  const { readable, writable } = new IdentityTransformStream({ highWaterMark: STREAM_BUFFER_BYTES })
  const sink = new Sink(writable.getWriter(), ctx.clientGone)
  if (early === TIMED_OUT) {
    void sink.hangUp.then(() => sink.gone && readerGone.abort())
    waitUntil(running(ctx, sink, keepAliveUntilOpen(ctx, identity, sink, opening)))
    return new Response(readable, { headers: { ...SSE_HEADERS, ...servedHeaders(identity, null, null) } })
  }
  waitUntil(running(ctx, sink, relay(ctx, identity, sink, early)))
  return new Response(readable, { headers: { ...SSE_HEADERS, ...servedHeaders(identity, early.endpoint, early.attempts) } })
}

/**
 * A committed stream: it has no total timeout, so its reservation is kept from expiring while it
 * runs, as long as it moves (Sink.progress).
 */
function running(ctx: ExecutionContext, sink: Sink, relaying: Promise<void>): Promise<void> {
  ctx.keepReserved(relaying, () => sink.progress)
  return relaying
}

async function keepAliveUntilOpen(
  ctx: ExecutionContext,
  identity: GenerationIdentity,
  sink: Sink,
  opening: Promise<Served<OpenStream> | Unserved>,
): Promise<void> {
  await sink.send(ctx.renderer.keepAlive)
  const beat = setInterval(() => void sink.send(ctx.renderer.keepAlive), ctx.config.STREAM_KEEPALIVE_MS)
  const opened = await opening.finally(() => clearInterval(beat))
  if (opened.ok) return relay(ctx, identity, sink, opened)
  // The stream committed to 200 before every attempt had failed.
  ctx.finish(failedOutcome(opened, 200))
  const { error } = opened
  const meta: ResponseMeta = {
    ...identity,
    model: ctx.plan[0]?.model.id ?? '',
    provider: typeof error.metadata.provider_name === 'string' ? error.metadata.provider_name : 'Meridian',
    systemFingerprint: 'meridian',
  }
  const writer = ctx.renderer.stream(meta, ctx.request)
  await sink.sendAll([...writer.error(error), ...(await writer.end(null, {}))])
  await sink.close()
}

/**
 * One attempt: the upstream counts as open once it has produced its first event that is not usage
 * (Anthropic counts the input before it may still report an overload). A client that
 * hangs up before then ends the attempt at once (nothing was generated for it), so its reservation
 * and concurrency slot are settled now rather than at the first-byte timeout.
 */
async function openStream(ctx: ExecutionContext, call: UpstreamCall, timeoutMs: number): Promise<AttemptResult<OpenStream>> {
  const controller = new AbortController()
  let left = false
  const leave = () => {
    left = true
    controller.abort()
  }
  if (ctx.clientGone.aborted) leave()
  else ctx.clientGone.addEventListener('abort', leave, { once: true })
  try {
    const result = await within(firstEvents(call, controller), timeoutMs)
    if (result === TIMED_OUT) {
      controller.abort()
      return { ok: false, failure: failureFromThrow(null, true) }
    }
    if (!result.ok) controller.abort()
    return result
  } catch (error) {
    controller.abort()
    return { ok: false, failure: { ...failureFromThrow(error, false), ...(left ? { cutShort: true as const } : {}) } }
  } finally {
    ctx.clientGone.removeEventListener('abort', leave)
  }
}

async function firstEvents(call: UpstreamCall, controller: AbortController): Promise<AttemptResult<OpenStream>> {
  const response = await send(call.request, controller.signal)
  if (!response.ok) return { ok: false, failure: await failureFromResponse(response, call) }
  if (!response.body) return { ok: false, failure: badResponse('Upstream answered without a body', null) }
  let body = response.body
  if (isJson(response)) {
    // Some servers label their stream JSON: only an answer that is JSON is one.
    const peek = await peeked(body)
    if (peek.first === '{' || peek.first === '[') return { ok: false, failure: await failureFromJsonAnswer(new Response(peek.body, { headers: response.headers }), call) }
    body = peek.body
  }
  const reader = (call.streamMessages ?? sseMessages)(body)
  const buffered: StreamEvent[] = []
  while (!buffered.some((event) => event.type !== 'usage')) {
    const { done, value } = await reader.read()
    if (done) return { ok: false, failure: badResponse('Upstream closed the stream before sending an event', null) }
    if (!isComment(value)) buffered.push(...call.decodeStream(value))
  }
  const error = buffered.find((event) => event.type === 'error')
  if (error) {
    // Nothing reached the client yet, so this is still a failure another provider can absorb, unless the request is at fault.
    const status = statusOfError(error.status, error.message)
    const outcome = status === null ? 'upstream_error' : outcomeOfStatus(status, error.message)
    return { ok: false, failure: { outcome, status: status ?? 200, message: error.message, raw: error.raw, retryAfter: null } }
  }
  return { ok: true, value: { reader, buffered, controller } }
}

/** How long an attempt has for its first event: a model that thinks before it speaks may take minutes. */
function firstEventTimeout(ctx: ExecutionContext, call: UpstreamCall): number {
  const { TIMEOUT_FIRST_BYTE_MS: plain, TIMEOUT_FIRST_BYTE_REASONING_MS: reasoning } = ctx.config
  return call.thinksFirst ? Math.max(plain, reasoning) : plain
}

/** An answer labelled JSON, where a stream was asked for. */
function isJson(response: Response): boolean {
  return response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() === 'application/json'
}

/** Blank bytes read ahead of a body's first character before it is left to the stream reader (which bounds its lines). */
const PEEK_BYTES = 64 * 1024

/**
 * A body's first character that is not whitespace (empty at its end, or past PEEK_BYTES of
 * blanks), and the body whole again.
 */
async function peeked(body: ReadableStream<Uint8Array>): Promise<{ first: string; body: ReadableStream<Uint8Array> }> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const read: Uint8Array[] = []
  let first = ''
  let bytes = 0
  while (first === '' && bytes <= PEEK_BYTES) {
    const chunk = await reader.read()
    if (chunk.done) break
    read.push(chunk.value)
    bytes += chunk.value.byteLength
    first = decoder.decode(chunk.value, { stream: true }).trimStart().charAt(0)
  }
  const whole = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = read.shift()
      if (next) return controller.enqueue(next)
      const chunk = await reader.read()
      if (chunk.done) controller.close()
      else controller.enqueue(chunk.value)
    },
    cancel: (reason) => reader.cancel(reason),
  })
  return { first, body: whole }
}

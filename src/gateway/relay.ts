import { secretNamed } from '../env'
import { GatewayError } from '../errors'
import type { Delta, StreamEvent, TokenUsage } from '../formats/canonical'
import type { ResponseMeta } from '../formats/openai/render'
import { endExploring, type AttemptRecord, type Outcome, type Served } from './attempts'
import { CLIENT_DISCONNECTED, observeSuccess, type ExecutionContext, type RequestOutcome } from './context'
import { isComment, isDoneSentinel, type MessageReader } from '../formats/sse'
import { idleWatchdog } from './deadline'
import { errorFinish, forClient, providerSecrets, streamErrorKind, upstreamErrorType } from './failures'
import type { GenerationIdentity } from './identity'
import { routeDebug } from './trace'
import { outputBound } from './accounting'
import { usageReport } from './usage'
import { endpointKey, type ObservationKind } from '../health/types'

/**
 * Relays an open upstream stream to the client in the route's wire format (ctx.renderer). No
 * failover from here on: an upstream failure becomes the format's mid-stream error (an OpenAI
 * chunk with `finish_reason: "error"`). Whatever happens, a stream that still has a client gets
 * the renderer's ending (for OpenAI: a usage chunk with cost and `data: [DONE]`).
 */

/**
 * How long a stream whose client left after the finish is still read for its usage; and how long
 * an upstream that has sent its finish and usage has to end its stream before the answer is
 * ended for it (one that keeps its connection open would hold the client and the key's slot).
 */
const USAGE_DRAIN_MS = 1_000

/**
 * Characters per token allowed to an answer before its upstream counts as running away: far above
 * any text's (about 4), so only an upstream that ignores max_tokens, or loops, reaches it.
 */
const RUNAWAY_CHARACTERS_PER_TOKEN = 32

/** An upstream stream that has produced its first event (gateway/stream.ts opens it). */
export interface OpenStream {
  reader: MessageReader
  /** Events read while deciding the attempt had succeeded; relayed first. */
  buffered: StreamEvent[]
  controller: AbortController
}

/** The client side of the stream; remembers when the client has gone away. */
export class Sink {
  gone = false
  /**
   * A stream's progress (for ./renewal): each write the client took, and each upstream message
   * relayed, shown or not. A client that stops reading holds both still, since relaying waits on
   * its writes.
   */
  progress = 0
  /** Settles when the client hangs up (or the stream is closed), so a stalled read can stop waiting. */
  readonly hangUp: Promise<void>

  /**
   * `clientGone` (request.signal) is how a hang-up is seen before the response went out, or while
   * nothing is being written; a failed write or an errored stream is how it is seen otherwise.
   */
  constructor(
    private readonly writer: WritableStreamDefaultWriter<ArrayBufferView>,
    clientGone: AbortSignal,
  ) {
    const streamEnded = writer.closed.then(
      () => {},
      () => {
        this.gone = true
      },
    )
    const aborted = new Promise<void>((resolve) => {
      const leave = () => {
        this.gone = true
        resolve()
      }
      if (clientGone.aborted) leave()
      else clientGone.addEventListener('abort', leave, { once: true })
    })
    this.hangUp = Promise.race([streamEnded, aborted])
  }

  async send(bytes: Uint8Array): Promise<void> {
    if (this.gone) return
    try {
      await this.writer.write(bytes)
      this.progress++
    } catch {
      this.gone = true
    }
  }

  /** One write for the lot: each write is a trip through the runtime's stream machinery. */
  async sendAll(messages: Uint8Array[]): Promise<void> {
    if (messages.length <= 1) return messages[0] ? this.send(messages[0]) : undefined
    const joined = new Uint8Array(messages.reduce((sum, message) => sum + message.byteLength, 0))
    let offset = 0
    for (const message of messages) {
      joined.set(message, offset)
      offset += message.byteLength
    }
    return this.send(joined)
  }

  async close(): Promise<void> {
    await this.writer.close().catch(() => {})
  }
}

interface RelayState {
  /** When the first chunk went to the client. */
  firstByteAt: number | null
  finished: boolean
  usage: TokenUsage | null
  characters: number
  failure: GatewayError | null
  /** What the failure says about the endpoint's health (null: nothing, the request was at fault). */
  failureKind: ObservationKind | null
}

export async function relay(
  ctx: ExecutionContext,
  identity: GenerationIdentity,
  sink: Sink,
  opened: Served<OpenStream>,
): Promise<void> {
  const { endpoint, call, value: upstream } = opened
  // The provider answered: if this request is its half-open probe or its stale figure's renewal,
  // routing has what it waited for, so the isolate's next request may try it too (another
  // request's mark stays). The stream's outcome is reported at its end.
  endExploring(ctx, endpointKey(endpoint.model.id, endpoint.provider.id))
  const meta: ResponseMeta = {
    ...identity,
    model: endpoint.model.id,
    provider: endpoint.provider.name,
    systemFingerprint: `meridian:${endpoint.provider.id}`,
  }
  const writer = ctx.renderer.stream(meta, ctx.request)
  const state: RelayState = { firstByteAt: null, finished: false, usage: null, characters: 0, failure: null, failureKind: 'server_error' }
  const finishEvent: { finishReason: string | null; nativeFinishReason: string | null } = { finishReason: null, nativeFinishReason: null }
  // What the client must never see of what the gateway sent: every upstream text it relays goes through forClient.
  const secrets = () => providerSecrets(secretNamed(ctx.env, endpoint.provider.apiKeyEnv) ?? '', endpoint.provider)
  const upstreamFailure = (message: string, status: number, raw: unknown) =>
    new GatewayError(status, status === 408 ? 'timeout' : upstreamErrorType(null, raw), message, {
      provider_name: endpoint.provider.name,
      raw,
    })

  // An upstream that produces far more than the request allows is cut off, charged what the bounds allow.
  const characterBound = outputBound(ctx.request, endpoint) * RUNAWAY_CHARACTERS_PER_TOKEN
  const runaway = () => {
    state.failure = upstreamFailure(`Upstream produced more than the request allows (over ${characterBound} characters)`, 502, null)
    state.failureKind = 'server_error'
  }

  const handle = async (event: StreamEvent): Promise<void> => {
    switch (event.type) {
      case 'delta':
        if (!event.counted) state.characters += deltaCharacters(event.delta)
        if (state.characters > characterBound) return runaway()
        state.firstByteAt ??= ctx.clock()
        await sink.sendAll(writer.event(event))
        return
      case 'finish':
        // Some upstreams state the finish twice (again beside the usage): the client gets one.
        if (state.finished) return
        state.firstByteAt ??= ctx.clock()
        state.finished = true
        finishEvent.finishReason = event.finishReason
        finishEvent.nativeFinishReason = event.nativeFinishReason
        await sink.sendAll(writer.event(event))
        return
      case 'hidden':
        state.characters += event.characters
        if (state.characters > characterBound) runaway()
        return
      case 'usage':
        state.usage = event.usage
        if (event.usage) writer.usageSoFar?.(event.usage)
        return
      case 'error': {
        // After the finish the answer is whole: an error then (some servers send one for a lost tail) changes nothing.
        if (state.finished) return
        const { message, raw } = forClient(event, secrets())
        state.failureKind = streamErrorKind(event.status, event.message)
        // A rate limit says so (clients back off from it: Codex reads a retry delay only from one); any other failure is the provider's 502.
        state.failure =
          state.failureKind === 'rate_limited'
            ? new GatewayError(429, 'rate_limit_exceeded', `Rate limited by the provider (${endpoint.provider.name}) mid-stream: ${message}`, { provider_name: endpoint.provider.name, raw })
            : upstreamFailure(message, 502, raw)
      }
    }
  }

  // A hang-up or a stall cancels the upstream reader, which ends the pending read: no race per read.
  // A client gone after the finish (many stop reading there) leaves the usage that follows it to
  // read, for up to USAGE_DRAIN_MS: it is what the key is charged, where an estimate would be.
  let stalled = false
  // Set once the finish and the usage are in: the upstream then has USAGE_DRAIN_MS to end its stream.
  let tail: number | undefined
  let cut = false
  const awaitEnd = () => {
    if (tail !== undefined || !state.finished || state.usage === null) return
    tail = setTimeout(() => {
      cut = true
      interrupt()
    }, USAGE_DRAIN_MS)
  }
  const stallFailure = () => upstreamFailure('Upstream stalled mid-stream (idle timeout)', 408, null)
  const idle = idleWatchdog(ctx.config.TIMEOUT_IDLE_MS)
  const interrupt = () => void upstream.reader.cancel().catch(() => {})
  const awaitingUsage = () => state.finished && state.usage === null
  // An upstream that is working but shows nothing (Claude thinking with its display omitted sends
  // only pings) keeps the client's connection warm too: proxies between cut a silent one.
  let lastBeat = ctx.clock()
  const beat = async () => {
    const now = ctx.clock()
    if (now - lastBeat < ctx.config.STREAM_KEEPALIVE_MS) return
    lastBeat = now
    await sink.send(ctx.renderer.keepAlive)
  }
  void sink.hangUp.then(() => {
    if (!sink.gone) return
    if (awaitingUsage()) setTimeout(interrupt, Math.min(USAGE_DRAIN_MS, ctx.config.TIMEOUT_IDLE_MS))
    else interrupt()
  })
  void idle.expired.then(() => {
    stalled = true
    interrupt()
  })
  try {
    idle.pause()
    for (const event of upstream.buffered) await handle(event)
    idle.resume()
    awaitEnd()
    while (!state.failure && (!sink.gone || awaitingUsage())) {
      const read = await upstream.reader.read()
      if (sink.gone && !awaitingUsage()) break
      if (stalled) {
        // After the finish the answer is whole: a stall before the upstream's last words ends it as it is.
        if (!state.finished) state.failure = stallFailure()
        break
      }
      if (read.done || isDoneSentinel(read.value)) break
      if (isComment(read.value)) {
        // The upstream's keep-alive: it is working, and the client hears Meridian's.
        idle.pause()
        await beat()
        idle.resume()
        continue
      }
      // Time spent waiting on a slow client is not upstream silence.
      idle.pause()
      const progress = sink.progress
      for (const event of call.decodeStream(read.value)) {
        await handle(event)
        if (state.failure) break
      }
      if (sink.progress === progress && !state.failure) await beat()
      sink.progress++
      idle.resume()
      awaitEnd()
    }
  } catch (error) {
    // Cancelling a stalled reader may fail the pending read rather than end it.
    if (!state.finished) {
      const reason = error instanceof Error ? forClient({ message: error.message, raw: null }, secrets()).message : null
      state.failure = stalled ? stallFailure() : upstreamFailure('Upstream connection lost mid-stream', 502, reason)
    }
  } finally {
    idle.stop()
    if (tail !== undefined) clearTimeout(tail)
  }

  // Nothing after [DONE] (or the end) is read: an upstream that keeps its body open after it is let go.
  upstream.reader.cancel().catch(() => {})
  if (sink.gone || state.failure || stalled || cut) upstream.controller.abort()
  if (!sink.gone && !state.failure && !state.finished) {
    state.failure = upstreamFailure('Upstream ended the stream without finishing', 502, null)
  }
  // What was generated is charged, even when the client hung up or the upstream failed midway.
  const report = usageReport(state.usage, endpoint, ctx.costCapNano, {
    request: ctx.request,
    completionCharacters: state.characters,
    // After the finish, usage is the final count, also when the client has gone (it was read on for).
    unfinished: state.failure !== null || !state.finished,
  })
  const failedFinish = !state.failure && state.finished && finishEvent.finishReason === 'error' && ctx.renderer.errorFinishFails ? errorFinish(endpoint, finishEvent.nativeFinishReason) : null
  const outcome: RequestOutcome = {
    endpoint,
    report,
    status: sink.gone ? 'cancelled' : state.failure || failedFinish ? 'error' : 'success',
    httpStatus: 200,
    finishReason: state.failure ? 'error' : finishEvent.finishReason,
    nativeFinishReason: finishEvent.nativeFinishReason,
    // The serving attempt that failed after its first token is no success (a client's hang-up is not its failure).
    attempts: state.failure && !sink.gone ? failedLast(opened.attempts, stalled ? 'timeout' : 'upstream_error') : opened.attempts,
    ttfbMs: state.firstByteAt === null ? null : state.firstByteAt - ctx.startedAt,
    error: sink.gone ? CLIENT_DISCONNECTED : ((state.failure ?? failedFinish)?.message ?? null),
  }
  const { failure, failureKind } = state
  const gone = sink.gone
  const at = ctx.clock()
  // Once the stream's last messages have been handed on. Settlement first: nothing may keep it from running.
  ctx.later(() => {
    ctx.finish(outcome, at)
    if (!failure) observeSuccess(ctx, outcome, opened.attempts, at)
    else if (!gone) {
      // An endpoint that dies after its first token must still open its circuit.
      const kind = failure.status === 408 ? 'timeout' : failureKind
      if (kind) ctx.observe({
        endpoint: endpointKey(endpoint.model.id, endpoint.provider.id),
        kind,
        at,
        ttfbMs: null,
        tokensPerSecond: null,
        retryAfterMs: null,
        // The serving attempt began after the earlier ones (at the latest): a stream sent before its
        // circuit opened does not re-open it by dying after it turned half-open.
        sentAt: ctx.startedAt + opened.attempts.slice(0, -1).reduce((sum, attempt) => sum + attempt.latencyMs, 0),
      })
    }
  })
  if (sink.gone) return
  const failedWith = state.failure ?? failedFinish
  if (failedWith) await sink.sendAll(writer.error(failedWith))
  await sink.sendAll(await writer.end(report, routeDebug(ctx, outcome.attempts)))
  await sink.close()
}

function deltaCharacters(delta: Delta): number {
  const toolCharacters = (delta.tool_calls ?? []).reduce((sum, call) => sum + (call.function?.arguments?.length ?? 0), 0)
  return (delta.content?.length ?? 0) + (delta.refusal?.length ?? 0) + (delta.reasoning?.length ?? 0) + toolCharacters
}

/** The attempts, the last of which (the one that served) ended in `outcome`. */
function failedLast(attempts: AttemptRecord[], outcome: Outcome): AttemptRecord[] {
  const last = attempts.at(-1)
  return last ? [...attempts.slice(0, -1), { ...last, outcome }] : attempts
}

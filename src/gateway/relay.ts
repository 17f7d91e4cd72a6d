import { errorBody, GatewayError } from '../errors'
import type { Delta, StreamEvent, TokenUsage } from '../formats/canonical'
import {
  renderDeltaChunk,
  renderErrorChunk,
  renderFinishChunk,
  renderUsageChunk,
  type ResponseMeta,
} from '../formats/openai/render'
import { SSE_DONE, sseData } from '../formats/sse'
import type { Served } from './attempts'
import { observeSuccess, type ExecutionContext, type RequestOutcome } from './context'
import { TIMED_OUT, within } from './deadline'
import type { GenerationIdentity } from './identity'
import type { OpenStream } from './stream'
import { routeDebug } from './trace'
import { usageReport } from './usage'

/**
 * Relays an open upstream stream to the client as OpenAI chunks. No failover from here on: an
 * upstream failure becomes an error chunk (`finish_reason: "error"`). Whatever happens, a stream
 * that still has a client ends with a usage chunk (with cost) and `data: [DONE]`.
 */

/** The client side of the stream; remembers when the client has gone away. */
export class Sink {
  gone = false
  /** Settles when the client hangs up (or the stream is closed), so a stalled read can stop waiting. */
  readonly hangUp: Promise<void>

  constructor(private readonly writer: WritableStreamDefaultWriter<Uint8Array>) {
    this.hangUp = writer.closed.then(
      () => {},
      () => {
        this.gone = true
      },
    )
  }

  async send(bytes: Uint8Array): Promise<void> {
    if (this.gone) return
    try {
      await this.writer.write(bytes)
    } catch {
      this.gone = true
    }
  }

  async close(): Promise<void> {
    await this.writer.close().catch(() => {})
  }
}

interface RelayState {
  /** When the first chunk went to the client. */
  firstByteAt: number | null
  roleSent: boolean
  finished: boolean
  usage: TokenUsage | null
  characters: number
  failure: GatewayError | null
}

export async function relay(
  ctx: ExecutionContext,
  identity: GenerationIdentity,
  sink: Sink,
  opened: Served<OpenStream>,
): Promise<void> {
  const { endpoint, call, value: upstream } = opened
  const meta: ResponseMeta = {
    ...identity,
    model: endpoint.model.id,
    provider: endpoint.provider.name,
    systemFingerprint: `meridian:${endpoint.provider.id}`,
  }
  const state: RelayState = { firstByteAt: null, roleSent: false, finished: false, usage: null, characters: 0, failure: null }
  const finishEvent: { finishReason: string | null; nativeFinishReason: string | null } = { finishReason: null, nativeFinishReason: null }
  const upstreamFailure = (message: string, status: number, raw: unknown) =>
    new GatewayError(status, status === 408 ? 'timeout' : 'provider_unavailable', message, {
      provider_name: endpoint.provider.name,
      raw,
    })

  const handle = async (event: StreamEvent): Promise<void> => {
    switch (event.type) {
      case 'delta':
        state.characters += deltaCharacters(event.delta)
        state.firstByteAt ??= ctx.clock()
        await sink.send(sseData(renderDeltaChunk(meta, withRole(state, event.delta))))
        return
      case 'finish':
        state.firstByteAt ??= ctx.clock()
        if (!state.roleSent) await sink.send(sseData(renderDeltaChunk(meta, withRole(state, {}))))
        state.finished = true
        finishEvent.finishReason = event.finishReason
        finishEvent.nativeFinishReason = event.nativeFinishReason
        await sink.send(sseData(renderFinishChunk(meta, event.finishReason, event.nativeFinishReason)))
        return
      case 'usage':
        state.usage = event.usage
        return
      case 'error':
        state.failure = upstreamFailure(event.message, 502, event.raw)
    }
  }

  try {
    for (const event of upstream.buffered) await handle(event)
    while (!state.failure && !sink.gone) {
      const read = await within(Promise.race([upstream.reader.read(), sink.hangUp]), ctx.config.TIMEOUT_IDLE_MS)
      if (sink.gone || read === undefined) break
      if (read === TIMED_OUT) {
        state.failure = upstreamFailure('Upstream stalled mid-stream (idle timeout)', 408, null)
        break
      }
      if (read.done) break
      for (const event of call.decodeStream(read.value)) {
        await handle(event)
        if (state.failure) break
      }
    }
  } catch (error) {
    state.failure = upstreamFailure('Upstream connection lost mid-stream', 502, error instanceof Error ? error.message : null)
  }

  if (sink.gone || state.failure) {
    upstream.reader.cancel().catch(() => {})
    upstream.controller.abort()
  }
  if (!sink.gone && !state.failure && !state.finished) {
    state.failure = upstreamFailure('Upstream ended the stream without finishing', 502, null)
  }
  // What was generated is charged, even when the client hung up or the upstream failed midway.
  const report = usageReport(state.usage, endpoint, { request: ctx.request, completionCharacters: state.characters })
  const outcome: RequestOutcome = {
    endpoint,
    report,
    status: sink.gone ? 'cancelled' : state.failure ? 'error' : 'success',
    httpStatus: 200,
    finishReason: state.failure ? 'error' : finishEvent.finishReason,
    nativeFinishReason: finishEvent.nativeFinishReason,
    attempts: opened.attempts,
    ttfbMs: state.firstByteAt === null ? null : state.firstByteAt - ctx.startedAt,
    error: sink.gone ? 'client disconnected' : (state.failure?.message ?? null),
  }
  if (!state.failure) observeSuccess(ctx, outcome, opened.attempts.at(-1)?.latencyMs ?? 0)
  ctx.finish(outcome)
  if (sink.gone) return
  if (state.failure) await sink.send(sseData(renderErrorChunk(meta, errorBody(state.failure))))
  await sink.send(sseData({ ...renderUsageChunk(meta, report), ...routeDebug(ctx, opened.attempts) }))
  await sink.send(SSE_DONE)
  await sink.close()
}

/** OpenAI SDKs require `role` on the first delta of a choice; upstreams do not always send it. */
function withRole(state: RelayState, delta: Delta): Delta {
  if (state.roleSent) return delta
  state.roleSent = true
  return { role: 'assistant', ...delta }
}

function deltaCharacters(delta: Delta): number {
  const toolCharacters = (delta.tool_calls ?? []).reduce((sum, call) => sum + (call.function?.arguments?.length ?? 0), 0)
  return (delta.content?.length ?? 0) + (delta.reasoning?.length ?? 0) + toolCharacters
}

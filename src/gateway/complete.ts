import { readBoundedText } from '../bounded-body'
import type { Config } from '../config'
import type { Completion } from '../formats/canonical'
import type { ResponseMeta } from '../formats/openai/render'
import { send, type UpstreamCall } from '../providers/adapter'
import { tryEndpoints, type AttemptResult } from './attempts'
import { failedOutcome, observeSuccess, type ExecutionContext, type RequestOutcome } from './context'
import { badResponse, errorFinish, failureFromResponse, failureFromThrow, failureInBody, type Failure } from './failures'
import { servedHeaders, unservedAnswer, type GenerationIdentity } from './identity'
import { mayOutlastReservation } from './renewal'
import { routeDebug } from './trace'
import { usageReport } from './usage'

/** A non-streaming request: the whole upstream answer is read (and checked) before replying. */
export async function complete(ctx: ExecutionContext, identity: GenerationIdentity): Promise<Response> {
  const serving = tryEndpoints(ctx, (call) => fetchJson(call, (body) => call.decodeCompletion(body), ctx))
  if (mayOutlastReservation(ctx.config)) ctx.keepReserved(serving)
  const served = await serving
  if (!served.ok) {
    const answer = ctx.renderer.error(served.error)
    ctx.finish(failedOutcome(served, answer.status))
    return unservedAnswer(answer, identity, served.attempts)
  }
  const { value: completion, endpoint, attempts } = served
  const meta: ResponseMeta = {
    ...identity,
    model: endpoint.model.id,
    provider: endpoint.provider.name,
    systemFingerprint: completion.systemFingerprint ?? `meridian:${endpoint.provider.id}`,
  }
  const report = usageReport(completion.usage, endpoint, ctx.costCapNano, {
    request: ctx.request,
    completionCharacters: completionCharacters(completion),
  })
  const failed = completion.finishReason === 'error' && ctx.renderer.errorFinishFails ? errorFinish(endpoint, completion.nativeFinishReason) : null
  const outcome: RequestOutcome = {
    endpoint,
    report,
    status: failed ? 'error' : 'success',
    httpStatus: failed?.status ?? 200,
    finishReason: completion.finishReason,
    nativeFinishReason: completion.nativeFinishReason,
    attempts,
    ttfbMs: ctx.clock() - ctx.startedAt,
    error: failed?.message ?? null,
  }
  const at = ctx.clock()
  // Settlement first: nothing may keep it from running.
  ctx.later(() => {
    ctx.finish(outcome, at)
    observeSuccess(ctx, outcome, attempts, at)
  })
  if (failed) {
    const answer = ctx.renderer.error(failed)
    for (const [name, value] of Object.entries(servedHeaders(identity, endpoint, attempts))) answer.headers.set(name, value)
    return answer
  }
  return Response.json(
    { ...(await ctx.renderer.json(meta, completion, report, ctx.request)), ...routeDebug(ctx, attempts) },
    { headers: servedHeaders(identity, endpoint, attempts) },
  )
}

/**
 * One non-streaming attempt at any JSON API (chat completions, embeddings): the whole body is read
 * within the timeout, and up to MAX_UPSTREAM_BODY_BYTES, then decoded; a decoder that throws means
 * the upstream answered garbage, and so does a body over the size unless `oversized` says
 * otherwise. The timeout is the runtime's own (AbortSignal.timeout): it aborts the call, body
 * included, with no controller, timer or race of ours per request, and its timer ends with the
 * request.
 */
export async function fetchJson<T>(
  call: Pick<UpstreamCall, 'request' | 'errorMessage' | 'providerFault'>,
  decode: (body: unknown) => T,
  ctx: { config: Pick<Config, 'TIMEOUT_NON_STREAMING_MS' | 'MAX_UPSTREAM_BODY_BYTES'>; clock: () => number },
  oversized: (limit: number) => Failure = (limit) => badResponse(`Upstream answered with more than ${limit} bytes`, null),
): Promise<AttemptResult<T>> {
  const deadline = AbortSignal.timeout(ctx.config.TIMEOUT_NON_STREAMING_MS)
  try {
    return await readJson(call, decode, { signal: deadline, maxBytes: ctx.config.MAX_UPSTREAM_BODY_BYTES, clock: ctx.clock }, oversized)
  } catch (error) {
    return { ok: false, failure: failureFromThrow(error, deadline.aborted) }
  }
}

async function readJson<T>(
  call: Pick<UpstreamCall, 'request' | 'errorMessage' | 'providerFault'>,
  decode: (body: unknown) => T,
  { signal, maxBytes, clock }: { signal: AbortSignal; maxBytes: number; clock: () => number },
  oversized: (limit: number) => Failure,
): Promise<AttemptResult<T>> {
  const response = await send(call.request, signal)
  const headersAt = clock()
  if (!response.ok) {
    const failure = await failureFromResponse(response, call)
    // An error body cut short by the deadline is a timeout, not its status's failure.
    signal.throwIfAborted()
    return { ok: false, failure }
  }
  const text = await readBoundedText(response, maxBytes)
  if (text === null) return { ok: false, failure: oversized(maxBytes) }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { ok: false, failure: badResponse('Upstream answered with invalid JSON', excerpt(text)) }
  }
  try {
    return { ok: true, value: decode(json), headersAt }
  } catch {
    return { ok: false, failure: failureInBody(json, call, response.headers) ?? badResponse('Upstream answered with an unexpected body', excerpt(text)) }
  }
}

/** Of a bad upstream body, the client sees the first 1,024 characters (it may be up to MAX_UPSTREAM_BODY_BYTES). */
function excerpt(text: string): string {
  return text.slice(0, 1024)
}

function completionCharacters(completion: Completion): number {
  const { content, refusal, reasoning, tool_calls } = completion.message
  const toolCharacters = (tool_calls ?? []).reduce((sum, call) => sum + call.function.arguments.length, 0)
  return (content?.length ?? 0) + (refusal?.length ?? 0) + (reasoning?.length ?? 0) + toolCharacters + (completion.hiddenCharacters ?? 0)
}

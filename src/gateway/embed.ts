import type { Endpoint } from '../catalog/snapshot'
import { toErrorResponse } from '../errors'
import { embeddingInputs, estimateEmbeddingTokens, embeddingTokenBound, renderEmbeddings, type EmbeddingsRequest } from '../formats/openai/embeddings'
import type { TokenUsage } from '../formats/canonical'
import { prepareEmbeddings } from '../providers/openai-embeddings'
import type { TokenBounds } from './accounting'
import { tryPrepared, type AttemptContext, type Unserved } from './attempts'
import { fetchJson } from './complete'
import { failedOutcome, observeSuccess, type ExecutionContext, type RequestOutcome } from './context'
import { badResponse, type Failure } from './failures'
import { servedHeaders, unservedAnswer, type GenerationIdentity } from './identity'
import { mayOutlastReservation } from './renewal'
import { routeDebug } from './trace'
import { reportOf, type Report } from './usage'

/**
 * An embeddings request through the chat engine's parts: the same attempt loop (failover before
 * any byte, health observations), the same admission bounds and settlement, one JSON answer.
 */

export interface EmbedContext extends AttemptContext, Pick<ExecutionContext, 'trace' | 'finish' | 'keepReserved' | 'later' | 'costCapNano'> {
  request: EmbeddingsRequest
}

/**
 * More dimensions than any embedding model gives (a request's `dimensions` is not trusted: a
 * provider may ignore it), and more bytes than a value takes in JSON ("-1.2345678901234567e-05,").
 */
const MAX_DIMENSIONS = 16_384
const MAX_VALUE_BYTES = 32
/** The answer's envelope, usage and per-vector wrapping. */
const ANSWER_OVERHEAD_BYTES = 64 * 1024

/**
 * An answer over MAX_UPSTREAM_BODY_BYTES. Where the request's vectors could fill that much (inputs
 * × dimensions), its size is the client's to change: 413, with no other attempt (each would be
 * billed too). Where they could not, the body is not the vectors but the provider's junk: a bad
 * response, on which the next endpoint is tried and health counts a failure.
 */
function oversizedAnswer(request: EmbeddingsRequest): (limit: number) => Failure {
  const largest = embeddingInputs(request.input).length * MAX_DIMENSIONS * MAX_VALUE_BYTES + ANSWER_OVERHEAD_BYTES
  return (limit) => {
    if (largest <= limit) return badResponse(`Upstream answered with more than ${limit} bytes, more than the vectors asked for take`, null)
    const message = `The embeddings answer is larger than the gateway reads (${limit} bytes): send fewer inputs per request`
    return { outcome: 'too_large', status: 200, message, raw: null, retryAfter: null }
  }
}

/**
 * What an unserved request cost: nothing, unless its last provider computed the answer and only
 * its size kept it from the client. The provider billed that, so the key is charged the estimate.
 */
function unservedOutcome(ctx: EmbedContext, unserved: Unserved): RequestOutcome {
  const outcome = failedOutcome(unserved, unserved.error.status)
  const last = unserved.attempts.at(-1)
  const billed = last?.outcome === 'too_large' ? ctx.plan.find((e) => e.provider.id === last.provider && e.model.id === last.model) : undefined
  if (!billed) return outcome
  return { ...outcome, endpoint: billed, report: embeddingsReport(null, billed, ctx.costCapNano, ctx.request) }
}

/** Embeddings produce no output tokens: the worst case is every bounded input token at the prompt price. */
export function embeddingBounds(request: EmbeddingsRequest): TokenBounds {
  const bound = embeddingTokenBound(request)
  return { promptBound: () => bound, promptEstimate: estimateEmbeddingTokens(request), outputBound: () => 0, cachesForAnHour: false }
}

export async function embed(ctx: EmbedContext, identity: GenerationIdentity): Promise<Response> {
  const serving = tryPrepared(
    ctx,
    (endpoint, apiKey) => prepareEmbeddings(ctx.request, endpoint, apiKey),
    (call) => fetchJson(call, (body) => call.decode(body), ctx, oversizedAnswer(ctx.request)),
  )
  if (mayOutlastReservation(ctx.config)) ctx.keepReserved(serving)
  const served = await serving
  if (!served.ok) {
    ctx.finish(unservedOutcome(ctx, served))
    return unservedAnswer(toErrorResponse(served.error), identity, served.attempts)
  }
  const { value: embeddings, endpoint, attempts } = served
  const report = embeddingsReport(embeddings.usage, endpoint, ctx.costCapNano, ctx.request)
  const outcome: RequestOutcome = {
    endpoint,
    report,
    status: 'success',
    httpStatus: 200,
    finishReason: null,
    nativeFinishReason: null,
    attempts,
    ttfbMs: ctx.clock() - ctx.startedAt,
    error: null,
  }
  const at = ctx.clock()
  // Settlement first: nothing may keep it from running.
  ctx.later(() => {
    ctx.finish(outcome, at)
    observeSuccess({ ...ctx, stream: false }, outcome, attempts, at)
  })
  const meta = { id: identity.id, model: endpoint.model.id, provider: endpoint.provider.name }
  return Response.json(
    { ...renderEmbeddings(meta, embeddings, report, ctx.request.encoding_format ?? 'float'), ...routeDebug(ctx, attempts) },
    { headers: servedHeaders(identity, endpoint, attempts) },
  )
}

/** The upstream's count when it gave one; otherwise an estimate is charged, never zero. */
function embeddingsReport(reported: TokenUsage | null, endpoint: Endpoint, capNano: number, request: EmbeddingsRequest): Report {
  const usage = reported ?? { promptTokens: estimateEmbeddingTokens(request), completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }
  return reportOf(usage, endpoint, capNano, reported === null)
}

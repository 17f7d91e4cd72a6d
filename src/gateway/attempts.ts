import type { Endpoint } from '../catalog/snapshot'
import { secretNamed } from '../env'
import { GatewayError } from '../errors'
import type { UpstreamCall } from '../providers/adapter'
import { adapterFor } from '../providers/index'
import type { ExecutionContext } from './context'
import { retryAfterMs } from '../health/classify'
import { finalError, forClient, isRetryable, observationKind, providerSecrets, type Failure, type FailureOutcome } from './failures'
import { endpointKey } from '../health/types'
import { clearExploring } from '../health/local'

/**
 * The attempt loop shared by streaming and non-streaming requests: try the planned endpoints in
 * order, moving on after failures another provider may not share (connection errors, timeouts,
 * 429, 5xx, garbage, a provider rejecting our credentials), and stopping at the first failure that
 * is the client's. A context-length refusal moves on only to endpoints with a larger window. No
 * attempt starts after ATTEMPT_DEADLINE_MS, nor once the client has hung up (an attempt under way
 * goes on: its provider bills it). Every failure is reported to health at once.
 */

/** `cancelled`: the client's hang-up cut the attempt short (a stream not yet open), which says nothing of the provider. */
export type Outcome = 'success' | 'cancelled' | FailureOutcome

export interface AttemptRecord {
  provider: string
  model: string
  outcome: Outcome
  status: number | null
  latencyMs: number
  /** Time to the upstream's response headers, where the attempt ran on past them (a JSON answer is read whole); health's time to first byte. */
  firstByteMs?: number
}

/** `headersAt`: when the upstream's headers came (a JSON answer, read whole after them). */
export type AttemptResult<T> = { ok: true; value: T; headersAt?: number } | { ok: false; failure: Failure }

export interface Served<T, Call = UpstreamCall> {
  ok: true
  value: T
  endpoint: Endpoint
  call: Call
  attempts: AttemptRecord[]
}

export interface Unserved {
  ok: false
  error: GatewayError
  attempts: AttemptRecord[]
  /** The client hung up before anything served it: no further provider was asked. */
  clientLeft: boolean
}

/** What the loop needs of a request, whatever kind it is (chat, embeddings). */
export type AttemptContext = Pick<ExecutionContext, 'env' | 'config' | 'clock' | 'plan' | 'startedAt' | 'observe' | 'clientGone' | 'explores'>

/** Builds one endpoint's upstream call; a 400 GatewayError means this endpoint cannot express the request. */
export type Prepare<Call> = (endpoint: Endpoint, apiKey: string) => Call | Promise<Call>

/** A chat request: each endpoint's call comes from the adapter of its wire format. */
export function tryEndpoints<T>(
  ctx: ExecutionContext,
  attempt: (call: UpstreamCall, endpoint: Endpoint) => Promise<AttemptResult<T>>,
): Promise<Served<T> | Unserved> {
  const prepare: Prepare<UpstreamCall> = (endpoint, apiKey) =>
    adapterFor(endpoint.provider.format).prepare(ctx.request, endpoint, apiKey, { stream: ctx.stream, betas: ctx.betas })
  return tryPrepared(ctx, prepare, attempt)
}

export async function tryPrepared<T, Call>(
  ctx: AttemptContext,
  prepare: Prepare<Call>,
  attempt: (call: Call, endpoint: Endpoint) => Promise<AttemptResult<T>>,
): Promise<Served<T, Call> | Unserved> {
  const attempts: AttemptRecord[] = []
  const deadline = ctx.startedAt + ctx.config.ATTEMPT_DEADLINE_MS
  let last: { failure: Failure; endpoint: Endpoint } | undefined
  // Per model, the endpoints that found the request too long (the prompt past their limit, or it
  // and max_tokens past their window): an endpoint that takes no more of either would refuse it too.
  // (Another model counts its tokens with its own tokenizer.)
  const tooLongFor = new Map<string, Endpoint[]>()
  const refusedAsTooLong = (endpoint: Endpoint) =>
    tooLongFor.get(endpoint.model.id)?.some((by) => endpoint.contextLength <= by.contextLength && endpoint.maxPromptTokens <= by.maxPromptTokens) ?? false
  // Models whose request was refused as such: the rest of their endpoints would refuse it too.
  const refused = new Set<string>()
  const clientLeft = (): Unserved => {
    neverSent()
    return { ok: false, error: new GatewayError(408, 'timeout', 'The client hung up before a provider answered'), attempts, clientLeft: true }
  }
  // A renewal or half-open probe this request was (its plan's first endpoint) that was never sent is over.
  const neverSent = () => {
    if (attempts.length === 0 && ctx.explores !== null) clearExploring(ctx.env, ctx.explores)
  }
  for (const endpoint of ctx.plan) {
    if (ctx.clientGone.aborted) return clientLeft()
    if (ctx.clock() >= deadline) break
    if (refusedAsTooLong(endpoint) || refused.has(endpoint.model.id)) continue
    const started = ctx.clock()
    const result = await prepareAndAttempt(ctx, endpoint, prepare, attempt)
    const ended = ctx.clock()
    attempts.push({
      provider: endpoint.provider.id,
      model: endpoint.model.id,
      outcome: result.ok ? 'success' : result.failure.cutShort && ctx.clientGone.aborted ? 'cancelled' : result.failure.outcome,
      status: result.ok ? 200 : result.failure.status,
      latencyMs: ended - started,
      ...(result.ok && result.headersAt !== undefined ? { firstByteMs: result.headersAt - started } : {}),
    })
    if (result.ok) return { ok: true, value: result.value.value, call: result.value.call, endpoint, attempts }
    // An attempt a hang-up cut short (a stream not yet open) says nothing of the provider's health;
    // one that ran to its end (a JSON answer is read to the end) does. No new attempt starts.
    if (ctx.clientGone.aborted) {
      if (result.failure.cutShort) endExploring(ctx, endpointKey(endpoint.model.id, endpoint.provider.id))
      else observeFailure(ctx, endpoint, result.failure, ended, ended - started)
      return clientLeft()
    }
    observeFailure(ctx, endpoint, result.failure, ended, ended - started)
    // A request this endpoint could not be sent (no status) does not hide what an earlier provider answered.
    if (!last || result.failure.status !== null || result.failure.outcome !== 'rejected') last = { failure: result.failure, endpoint }
    if (result.failure.outcome === 'context_length') tooLongFor.set(endpoint.model.id, [...(tooLongFor.get(endpoint.model.id) ?? []), endpoint])
    // An answer too large to read was billed by its provider, and another would be too: nothing more.
    if (result.failure.outcome === 'too_large') break
    // As on OpenRouter, any other error may move on to the next model of `models`.
    if (!isRetryable(result.failure)) refused.add(endpoint.model.id)
  }
  neverSent()
  const error = last
    ? finalError(last.failure, last.endpoint, attempts)
    : new GatewayError(503, 'provider_unavailable', 'No provider is available for this request')
  return { ok: false, error, attempts, clientLeft: false }
}

function observeFailure(ctx: AttemptContext, endpoint: Endpoint, failure: Failure, at: number, latencyMs: number): void {
  const kind = observationKind(failure)
  const key = endpointKey(endpoint.model.id, endpoint.provider.id)
  // The provider answered, but not in a way health judges (the request's own fault): a renewal or
  // half-open probe it was is over all the same, or the endpoint would stay avoided.
  if (!kind) return endExploring(ctx, key)
  ctx.observe({
    endpoint: key,
    kind,
    at,
    ttfbMs: kind === 'timeout' ? latencyMs : null,
    tokensPerSecond: null,
    retryAfterMs: retryAfterMs(failure.pauseAsked ?? null, at),
    sentAt: at - latencyMs,
  })
}

/** Ends the renewal or half-open probe of `key` if this request is it; another request's stays. */
export function endExploring(ctx: Pick<AttemptContext, 'env' | 'explores'>, key: string): void {
  if (ctx.explores === key) clearExploring(ctx.env, key)
}

async function prepareAndAttempt<T, Call>(
  ctx: AttemptContext,
  endpoint: Endpoint,
  prepare: Prepare<Call>,
  attempt: (call: Call, endpoint: Endpoint) => Promise<AttemptResult<T>>,
): Promise<AttemptResult<{ value: T; call: Call }>> {
  const apiKey = secretNamed(ctx.env, endpoint.provider.apiKeyEnv) ?? ''
  const result = await prepareThenAttempt(endpoint, apiKey, prepare, attempt)
  return result.ok ? result : { ok: false, failure: forClient(result.failure, providerSecrets(apiKey, endpoint.provider)) }
}

async function prepareThenAttempt<T, Call>(
  endpoint: Endpoint,
  apiKey: string,
  prepare: Prepare<Call>,
  attempt: (call: Call, endpoint: Endpoint) => Promise<AttemptResult<T>>,
): Promise<AttemptResult<{ value: T; call: Call }>> {
  let call: Call
  try {
    call = await prepare(endpoint, apiKey)
  } catch (error) {
    // Either this endpoint's format cannot express the request (a GatewayError: the request's
    // problem, unless another endpoint can), or its configuration cannot make a valid request (a
    // credential SigV4 cannot use, say: the endpoint is broken for us). Either way the request
    // goes on, so its reservation is always settled. (A header value the runtime refuses, such as
    // a secret with a newline inside, is only seen when the request is sent: a connection failure.)
    if (error instanceof GatewayError) {
      return { ok: false, failure: { outcome: 'rejected', status: null, message: error.message, raw: null, retryAfter: null } }
    }
    const message = `Could not build the upstream request: ${error instanceof Error ? error.message : String(error)}`
    // A RangeError (the stack or an array length overrun) comes of the request's size, not of the
    // endpoint: it must not count against the provider's health.
    const outcome = error instanceof RangeError ? 'rejected' : 'upstream_error'
    return { ok: false, failure: { outcome, status: null, message, raw: null, retryAfter: null } }
  }
  const result = await attempt(call, endpoint)
  return result.ok ? { ...result, value: { value: result.value, call } } : result
}

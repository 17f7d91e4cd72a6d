import type { Endpoint } from '../catalog/snapshot'
import type { Clock } from '../clock'
import type { Config } from '../config'
import { secretNamed, type Env } from '../env'
import { GatewayError } from '../errors'
import type { ChatRequest } from '../formats/openai/request'
import type { UsageReport } from '../formats/openai/render'
import type { UpstreamCall } from '../providers/adapter'
import { adapterFor } from '../providers/index'

/**
 * The attempt loop shared by streaming and non-streaming requests: try the planned endpoints in
 * order, moving on after failures that another provider may not share (connection errors,
 * timeouts, 429, 5xx, garbage, a provider rejecting our credentials), and stopping at the first
 * failure that is the client's (a 400 for the request itself).
 */

export type Outcome =
  | 'success'
  | 'connection_error'
  | 'timeout'
  | 'rate_limited'
  | 'upstream_error'
  | 'bad_response'
  | 'rejected'
  | 'client_error'

export interface Failure {
  outcome: Exclude<Outcome, 'success'>
  /** The upstream HTTP status, when one arrived. */
  status: number | null
  message: string
  raw: unknown
  retryAfter: string | null
}

export interface AttemptRecord {
  provider: string
  model: string
  outcome: Outcome
  status: number | null
  latencyMs: number
}

export interface ExecutionContext {
  env: Env
  config: Config
  clock: Clock
  request: ChatRequest
  plan: Endpoint[]
  stream: boolean
  /** When the request arrived (ms). */
  startedAt: number
  /** Called exactly once, when the request is over, with what it cost and what happened. */
  finish: (outcome: RequestOutcome) => void
}

export interface RequestOutcome {
  endpoint: Endpoint | null
  report: (UsageReport & { estimated: boolean }) | null
  status: 'success' | 'error' | 'cancelled'
  httpStatus: number
  finishReason: string | null
  nativeFinishReason: string | null
  attempts: AttemptRecord[]
  /** Time until the first byte of the answer went to the client. */
  ttfbMs: number | null
  error: string | null
}

/** The outcome of a request that nothing served. */
export function failedOutcome(unserved: Unserved): RequestOutcome {
  return {
    endpoint: null,
    report: null,
    status: 'error',
    httpStatus: unserved.error.status,
    finishReason: null,
    nativeFinishReason: null,
    attempts: unserved.attempts,
    ttfbMs: null,
    error: unserved.error.message,
  }
}

export type AttemptResult<T> = { ok: true; value: T } | { ok: false; failure: Failure }

export interface Served<T> {
  ok: true
  value: T
  endpoint: Endpoint
  call: UpstreamCall
  attempts: AttemptRecord[]
}

export interface Unserved {
  ok: false
  error: GatewayError
  attempts: AttemptRecord[]
}

export async function tryEndpoints<T>(
  ctx: ExecutionContext,
  attempt: (call: UpstreamCall, endpoint: Endpoint) => Promise<AttemptResult<T>>,
): Promise<Served<T> | Unserved> {
  const attempts: AttemptRecord[] = []
  let last: { failure: Failure; endpoint: Endpoint } | undefined
  for (const endpoint of ctx.plan) {
    const started = ctx.clock()
    const result = await prepareAndAttempt(ctx, endpoint, attempt)
    attempts.push({
      provider: endpoint.provider.id,
      model: endpoint.model.id,
      outcome: result.ok ? 'success' : result.failure.outcome,
      status: result.ok ? 200 : result.failure.status,
      latencyMs: ctx.clock() - started,
    })
    if (result.ok) return { ok: true, value: result.value.value, call: result.value.call, endpoint, attempts }
    last = { failure: result.failure, endpoint }
    if (result.failure.outcome === 'client_error') break
  }
  const error = last
    ? finalError(last.failure, last.endpoint, attempts)
    : new GatewayError(503, 'provider_unavailable', 'No provider is available for this request')
  return { ok: false, error, attempts }
}

async function prepareAndAttempt<T>(
  ctx: ExecutionContext,
  endpoint: Endpoint,
  attempt: (call: UpstreamCall, endpoint: Endpoint) => Promise<AttemptResult<T>>,
): Promise<AttemptResult<{ value: T; call: UpstreamCall }>> {
  const apiKey = secretNamed(ctx.env, endpoint.provider.apiKeyEnv) ?? ''
  let call: UpstreamCall
  try {
    call = adapterFor(endpoint.provider.format).prepare(ctx.request, endpoint, apiKey, { stream: ctx.stream })
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error
    // This endpoint's format cannot express the request; another endpoint's may.
    return { ok: false, failure: { outcome: 'rejected', status: null, message: error.message, raw: null, retryAfter: null } }
  }
  const result = await attempt(call, endpoint)
  return result.ok ? { ok: true, value: { value: result.value, call } } : result
}

const MAX_ERROR_BODY = 4096

/** Classifies a non-2xx upstream response, keeping the provider's own reason. */
export async function failureFromResponse(response: Response, call: UpstreamCall): Promise<Failure> {
  const text = (await response.text().catch(() => '')).slice(0, MAX_ERROR_BODY)
  let raw: unknown = text
  try {
    raw = JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  const status = response.status
  const message = call.errorMessage(raw) ?? (text || `HTTP ${status}`)
  return { outcome: outcomeOfStatus(status), status, message, raw, retryAfter: response.headers.get('retry-after') }
}

function outcomeOfStatus(status: number): Failure['outcome'] {
  if (status === 429) return 'rate_limited'
  if (status === 408) return 'timeout'
  if (status >= 500) return 'upstream_error'
  // 401/403: our provider credentials are wrong; 404: that provider lacks the model. Not the client's fault.
  if (status === 401 || status === 403 || status === 404) return 'rejected'
  return 'client_error'
}

/** A thrown fetch: our own abort means a timeout, anything else a connection failure. */
export function failureFromThrow(error: unknown, timedOut: boolean): Failure {
  const message = timedOut ? 'Upstream timed out' : `Upstream connection failed: ${error instanceof Error ? error.message : String(error)}`
  return { outcome: timedOut ? 'timeout' : 'connection_error', status: null, message, raw: null, retryAfter: null }
}

export function badResponse(message: string, raw: unknown): Failure {
  return { outcome: 'bad_response', status: null, message, raw, retryAfter: null }
}

/** When every attempt failed: the last failure decides the status, and its reason is kept. */
export function finalError(failure: Failure, endpoint: Endpoint, attempts: AttemptRecord[]): GatewayError {
  const metadata = { provider_name: endpoint.provider.name, raw: failure.raw ?? failure.message, attempts }
  switch (failure.outcome) {
    case 'timeout':
      return new GatewayError(408, 'timeout', `Upstream timed out (${endpoint.provider.name})`, metadata)
    case 'rate_limited':
      return new GatewayError(
        429,
        'rate_limit_exceeded',
        `Rate limited by the provider (${endpoint.provider.name}): ${failure.message}`,
        metadata,
        failure.retryAfter ? { 'retry-after': failure.retryAfter } : {},
      )
    case 'client_error':
      return new GatewayError(failure.status === 413 ? 413 : 400, 'invalid_request', `${endpoint.provider.name}: ${failure.message}`, metadata)
    default:
      return new GatewayError(502, 'provider_unavailable', 'Provider returned error', { ...metadata, message: failure.message })
  }
}

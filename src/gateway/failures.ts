import * as z from 'zod'
import { readTextUpTo } from '../bounded-body'
import type { Endpoint } from '../catalog/snapshot'
import { GatewayError } from '../errors'
import { MAX_JSON_DEPTH, nestingDepth } from '../json-depth'
import type { ObservationKind } from '../health/types'
import { statusOfErrorCode } from '../formats/openai/response'
import { anthropicErrorStatus } from '../formats/anthropic/response'
import type { UpstreamCall } from '../providers/adapter'
import type { AttemptRecord } from './attempts'

/**
 * Classifying what went wrong with an attempt, and turning the last failure into the client's
 * error when every attempt failed.
 */

export type FailureOutcome =
  | 'connection_error'
  | 'timeout'
  | 'rate_limited'
  | 'upstream_error'
  | 'bad_response'
  | 'rejected'
  | 'context_length'
  | 'client_error'
  /** An answer too large for the gateway to read, whose size the request decides (the provider billed it). */
  | 'too_large'

export interface Failure {
  outcome: FailureOutcome
  /** The upstream HTTP status, when one arrived. */
  status: number | null
  message: string
  raw: unknown
  /** The Retry-After the client may be given (retryAfterOf). */
  retryAfter: string | null
  /** The pause the provider asked for, as health reads it (pauseAsked); absent when it asked none. */
  pauseAsked?: string
  /** The client's hang-up ended the attempt (a stream not yet open): it says nothing of the provider. */
  cutShort?: true
}

/** Failures that another endpoint will not share are worth another attempt. */
export function isRetryable(failure: Failure): boolean {
  return failure.outcome !== 'client_error' && failure.outcome !== 'too_large'
}

/** What a failure says about the endpoint's health (null: nothing — the request was at fault). */
export function observationKind(failure: Failure): ObservationKind | null {
  switch (failure.outcome) {
    case 'connection_error':
    case 'timeout':
    case 'bad_response':
    case 'rate_limited':
      return failure.outcome
    case 'upstream_error':
      return 'server_error'
    case 'rejected':
      // A provider refusing our credentials or model id is broken for us; a request we could not
      // translate (no status) says nothing about the provider.
      return failure.status === null ? null : 'server_error'
    default:
      return null
  }
}

/** Of an error body, this much is read and kept (the provider's reason comes first). */
const MAX_ERROR_BODY = 4096
const CONTEXT_LENGTH = /context length|context window|context limit|maximum context|too many tokens|prompt is too long|input is too long|reduce the length|exceeds the maximum number of tokens|input tokens exceeded|too many input tokens/i

/** Classifies a non-2xx upstream response, keeping the provider's own reason. */
export async function failureFromResponse(response: Response, call: Pick<UpstreamCall, 'errorMessage' | 'providerFault'>): Promise<Failure> {
  const { text, raw } = await readErrorBody(response)
  const status = response.status
  const message = call.errorMessage(raw) ?? (text || `HTTP ${status}`)
  const outcome = status < 500 && status !== 429 && call.providerFault?.(status, raw, response.headers) ? 'rejected' : outcomeOfStatus(status, message)
  const pause = pauseAsked(response.headers) ?? retryInfoDelay(raw) ?? (outcome === 'rate_limited' ? limitReset(response.headers) : null)
  return { outcome, status, message, raw, retryAfter: retryAfterOf(pause), ...(pause === null ? {} : { pauseAsked: pause }) }
}

/**
 * When a rate limit the provider says is spent resets, as seconds: OpenAI's and Groq's
 * `x-ratelimit-reset-requests` / `-tokens` (a duration such as `6m0s` or `20ms`) of a limit whose
 * `x-ratelimit-remaining-…` is 0, for a 429 that says no Retry-After. The later, when both are spent.
 */
function limitReset(headers: Headers): string | null {
  const resets = (['requests', 'tokens'] as const).flatMap((limit) => {
    if (headers.get(`x-ratelimit-remaining-${limit}`)?.trim() !== '0') return []
    const seconds = durationSeconds(headers.get(`x-ratelimit-reset-${limit}`) ?? '')
    return seconds === null ? [] : [seconds]
  })
  return resets.length > 0 ? String(Math.max(...resets)) : null
}

/** A Go-style duration (`1h2m3.5s`, `6m0s`, `20ms`) as seconds, or null. */
function durationSeconds(text: string): number | null {
  const match = /^(?:(\d{1,6})h)?(?:(\d{1,6})m(?!s))?(?:(\d{1,9}(?:\.\d+)?)s)?(?:(\d{1,9}(?:\.\d+)?)ms)?$/.exec(text.trim())
  if (!match || !text.trim()) return null
  const [, hours = '0', minutes = '0', seconds = '0', milliseconds = '0'] = match
  return Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds) + Number(milliseconds) / 1000
}

const CodeInBody = z.object({ error: z.object({ code: z.unknown().optional() }) })

/**
 * An error in a body that came with a 200 status, as some upstreams send one; null when the body
 * is not an error. A code in the body that is an HTTP status (`{error: {code: 400}}`, as
 * OpenAI-format relays say it), or Anthropic's error type (`invalid_request_error` is a 400),
 * stands for the status; without either it is the provider's failure (statusOfError).
 */
export function failureInBody(raw: unknown, call: Pick<UpstreamCall, 'errorMessage'>, headers: Headers): Failure | null {
  const message = call.errorMessage(raw)
  if (message === null) return null
  const coded = CodeInBody.safeParse(raw)
  const status = statusOfError((coded.success ? statusOfErrorCode(coded.data.error.code) : undefined) ?? anthropicErrorStatus(raw), message)
  const outcome = status === null ? 'upstream_error' : outcomeOfStatus(status, message)
  // A rate limit said in the body may still say its pause in the headers, as a 429's would.
  const pause = outcome === 'rate_limited' ? pauseAsked(headers) : null
  return { outcome, status, message, raw, retryAfter: retryAfterOf(pause), ...(pause === null ? {} : { pauseAsked: pause }) }
}

/**
 * The status an error in a body or a stream stands for: the one it gave, else a 400 when its reason
 * says the prompt is too long (OpenAI's code for that is a word), else none: the provider's failure.
 */
export function statusOfError(given: number | undefined, message: string): number | null {
  return given ?? (CONTEXT_LENGTH.test(message) ? 400 : null)
}

/** A 200 answer in JSON to a streaming request: an error (failureInBody), or a completion where a stream was asked for. */
export async function failureFromJsonAnswer(response: Response, call: Pick<UpstreamCall, 'errorMessage'>): Promise<Failure> {
  const { raw } = await readErrorBody(response)
  return failureInBody(raw, call, response.headers) ?? badResponse('Upstream answered a streaming request with JSON, not a stream', raw)
}

/**
 * What an upstream's error event after the first token says about its health: as its status
 * would over HTTP (nothing for the request's own fault), or a server error when it gave none.
 */
export function streamErrorKind(given: number | undefined, message: string): ObservationKind | null {
  const status = statusOfError(given, message)
  if (status === null) return 'server_error'
  return observationKind({ outcome: outcomeOfStatus(status, message), status, message, raw: null, retryAfter: null })
}

/** Up to MAX_ERROR_BODY of an answer: parsed when it is JSON not too deep to render back, else the text. */
async function readErrorBody(response: Response): Promise<{ text: string; raw: unknown }> {
  const { text } = await readTextUpTo(response, MAX_ERROR_BODY).catch(() => ({ text: '' }))
  try {
    const parsed: unknown = JSON.parse(text)
    // Too deep to render back to the client: kept as text.
    return { text, raw: nestingDepth(parsed) <= MAX_JSON_DEPTH ? parsed : text }
  } catch {
    return { text, raw: text }
  }
}

/**
 * The pause a provider asked for, for health's cool-down (health/classify.ts reads it): OpenAI's
 * `retry-after-ms` when given, as seconds, else Retry-After as sent, fractional seconds included.
 */
export function pauseAsked(headers: Headers): string | null {
  const ms = headers.get('retry-after-ms')?.trim() ?? ''
  if (/^\d{1,10}(\.\d+)?$/.test(ms)) return String(Number(ms) / 1000)
  return headers.get('retry-after')
}

const RetryInfo = z.looseObject({ error: z.looseObject({ details: z.array(z.unknown()) }) })

/**
 * The pause a Google error body asks for in its RetryInfo detail (`{"@type": "….RetryInfo",
 * "retryDelay": "37s"}`), as seconds: Gemini's 429 says it there, with no Retry-After header.
 */
function retryInfoDelay(raw: unknown): string | null {
  const parsed = RetryInfo.safeParse(Array.isArray(raw) ? raw[0] : raw)
  if (!parsed.success) return null
  for (const detail of parsed.data.error.details) {
    const delay = (detail as { retryDelay?: unknown } | null)?.retryDelay
    const seconds = typeof delay === 'string' ? /^(\d{1,10}(?:\.\d+)?)s$/.exec(delay.trim())?.[1] : undefined
    if (seconds !== undefined) return seconds
  }
  return null
}

/**
 * The pause an upstream asked for (pauseAsked: `retry-after-ms` or Retry-After), passed on to the
 * client only as what Retry-After may hold: whole seconds (fractional ones rounded up), or an HTTP
 * date (rewritten). Anything else (an upstream may put what it received there) is dropped.
 */
function retryAfterOf(header: string | null): string | null {
  const value = header?.trim() ?? ''
  if (/^\d{1,10}(\.\d+)?$/.test(value)) return String(Math.ceil(Number(value)))
  const date = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value) ? Date.parse(value) : Number.NaN
  return Number.isNaN(date) ? null : new Date(date).toUTCString()
}

export function outcomeOfStatus(status: number, message: string): FailureOutcome {
  if (status === 429) return 'rate_limited'
  if (status === 408) return 'timeout'
  if (status >= 500) return 'upstream_error'
  // 401/403: our provider credentials are wrong; 402: our account there is out of credit; 404: that
  // provider lacks the model. Not the client's fault: another provider may serve.
  if (status === 401 || status === 402 || status === 403 || status === 404) return 'rejected'
  // A redirect (not followed: providers/adapter.ts) is the provider's address gone wrong.
  if (status >= 300 && status < 400) return 'rejected'
  if ((status === 400 || status === 413) && CONTEXT_LENGTH.test(message)) return 'context_length'
  return 'client_error'
}

/** A thrown fetch: our own abort means a timeout, anything else a connection failure. */
export function failureFromThrow(error: unknown, timedOut: boolean): Failure {
  const message = timedOut ? 'Upstream timed out' : `Upstream connection failed: ${error instanceof Error ? error.message : String(error)}`
  return { outcome: timedOut ? 'timeout' : 'connection_error', status: null, message, raw: null, retryAfter: null }
}

/** Secrets shorter than this are not looked for: real keys are longer, and a short one would mangle ordinary words. */
const MIN_SECRET_LENGTH = 8
/** A body cut short may end inside a secret: a trailing piece this long of one is hidden too. */
const MIN_SECRET_FRAGMENT = 6
/**
 * The secrets the gateway sends a provider: its key secret, and the value of every header the
 * catalog sets for it (no name tells a credential: `Helicone-Auth`, `Ocp-Apim-Subscription-Key`;
 * hiding a harmless value costs nothing). Each also in parts (a Bedrock secret is
 * `id:secret[:token]`, a header `Bearer <token>`), and as JSON escapes it (`/` as `\/`), since a
 * body too deep or too long to parse is kept as text.
 */
export function providerSecrets(apiKey: string, provider: Pick<Endpoint['provider'], 'headers'>): string[] {
  const values = [apiKey, ...Object.values(provider.headers)]
  const pieces = values.flatMap((value) => [value, ...value.split(/[\s:]+/)]).filter((piece) => piece.length >= MIN_SECRET_LENGTH)
  return [
    ...new Set(
      pieces.flatMap((piece) => {
        const escaped = JSON.stringify(piece).slice(1, -1)
        return [piece, escaped, escaped.replaceAll('/', '\\/')]
      }),
    ),
  ]
}

/**
 * An upstream's error (a failure, or a stream's error event) as the client may see it: without
 * the secrets the gateway sent (an upstream may echo the credentials it received, say an error
 * quoting the request's headers), and with what nests past MAX_JSON_DEPTH left out, so that
 * rendering it cannot overflow.
 */
export function forClient<T extends { message: string; raw: unknown }>(error: T, secrets: string[]): T {
  const hide = (text: string) => hideSecrets(text, secrets)
  return { ...error, message: hide(error.message), raw: mapStrings(error.raw, hide, 0) }
}

function hideSecrets(text: string, secrets: string[]): string {
  let out = text
  for (const secret of secrets) {
    out = out.replaceAll(secret, '[redacted]')
    // A body read up to a size may end partway through one.
    for (let length = secret.length - 1; length >= MIN_SECRET_FRAGMENT; length--) {
      if (out.endsWith(secret.slice(0, length))) {
        out = `${out.slice(0, out.length - length)}[redacted]`
        break
      }
    }
  }
  return out
}

/** JSON with `map` applied to every string, keys included; what nests past MAX_JSON_DEPTH is left out. */
function mapStrings(value: unknown, map: (text: string) => string, depth: number): unknown {
  if (typeof value === 'string') return map(value)
  if (typeof value !== 'object' || value === null) return value
  if (depth >= MAX_JSON_DEPTH) return '[omitted]'
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map, depth + 1))
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [map(key), mapStrings(item, map, depth + 1)]))
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
    case 'context_length':
      return new GatewayError(400, 'context_length_exceeded', `${endpoint.provider.name}: ${failure.message}`, metadata)
    case 'client_error':
      return failure.status === 413
        ? new GatewayError(413, 'payload_too_large', `${endpoint.provider.name}: ${failure.message}`, metadata)
        : new GatewayError(400, 'invalid_request', `${endpoint.provider.name}: ${failure.message}`, metadata)
    case 'too_large':
      return new GatewayError(413, 'payload_too_large', failure.message, metadata)
    case 'rejected':
      // No status: no endpoint could express the request at all; that is the request's problem.
      if (failure.status === null) return new GatewayError(400, 'invalid_request', failure.message, { provider_name: endpoint.provider.name, attempts })
      // The provider refused our credentials or account: its body may echo them (masked keys), so
      // the tenant gets the reason's status, not the body.
      return new GatewayError(502, 'provider_unavailable', 'Provider returned error', {
        provider_name: endpoint.provider.name,
        attempts,
        message: `the provider rejected the gateway's request (HTTP ${failure.status})`,
      })
    default:
      return new GatewayError(502, upstreamErrorType(failure.status, failure.raw), 'Provider returned error', { ...metadata, message: failure.message })
  }
}

const OverloadCode = z.object({ code: z.union([z.literal(529), z.literal('529')]) })
const Overloaded = z.union([
  z.object({ error: z.union([z.object({ type: z.literal('overloaded_error') }), OverloadCode]) }),
  // A mid-stream OpenAI-format chunk's error object, as the relay keeps it.
  OverloadCode,
])

/**
 * An upstream's failure as an error type: overloaded when it said so (Anthropic's 529, or its
 * `overloaded_error` body or stream event; an OpenAI-format relay of Anthropic, as OpenRouter, says
 * `{error: {code: 529}}` in a body or a mid-stream chunk), which Anthropic clients back off from as such.
 */
export function upstreamErrorType(status: number | null, raw: unknown): 'provider_overloaded' | 'provider_unavailable' {
  return status === 529 || Overloaded.safeParse(raw).success ? 'provider_overloaded' : 'provider_unavailable'
}

/** An answer its provider ended with an error (`finish_reason: "error"`), for a format that has no word for it. */
export function errorFinish(endpoint: Endpoint, native: string | null): GatewayError {
  const reason = native && native !== 'error' ? ` (${native})` : ''
  return new GatewayError(502, 'provider_unavailable', `The provider ended its answer with an error${reason}`, { provider_name: endpoint.provider.name, raw: native })
}

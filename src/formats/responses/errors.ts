import * as z from 'zod'
import type { ErrorType, GatewayError } from '../../errors'

/**
 * Errors on the Responses route in OpenAI's own shape, `{ error: { message, type, param, code } }`
 * with `code` a string, since its clients branch on it (Codex compacts on
 * `context_length_exceeded`). Meridian's `metadata` rides along. Chat completions keep
 * OpenRouter's shape (a numeric `code`), which their clients read.
 */

const TYPES: Record<number, string> = {
  401: 'authentication_error',
  402: 'insufficient_quota',
  403: 'permission_error',
  408: 'timeout_error',
  429: 'rate_limit_error',
}

/** Meridian's error types as OpenAI's codes; a plain invalid request has none (the message and `param` say it). */
const CODES: Partial<Record<ErrorType, string | null>> = {
  invalid_request: null,
  authentication: 'invalid_api_key',
  payment_required: 'insufficient_quota',
  server: 'server_error',
}

export function responsesErrorBody(error: GatewayError) {
  const type = TYPES[error.status] ?? (error.status >= 500 ? 'server_error' : 'invalid_request_error')
  const issues = error.metadata.issues
  const param = Array.isArray(issues) && typeof issues[0]?.path === 'string' && issues[0].path ? issues[0].path : null
  // A case OpenAI has its own code for (previous_response_not_found) names it in the metadata.
  const code = typeof error.metadata.code === 'string' ? error.metadata.code : error.type in CODES ? CODES[error.type] : error.type
  return { error: { message: error.message, type, param, code: code ?? upstreamCode(error), metadata: error.metadata } }
}

const UpstreamRefusal = z.looseObject({ error: z.looseObject({ code: z.string().nullish().catch(null) }) })

/**
 * A plain invalid request's code from the OpenAI-format upstream that refused it (metadata.raw),
 * such as `invalid_value`. Only there: where Meridian has classified the failure itself
 * (context_length_exceeded, a rate limit), its own code stands. The upstream's `param` is not
 * passed on: it names a field of the translated chat request, not of the client's.
 */
function upstreamCode(error: GatewayError): string | null {
  return error.type === 'invalid_request' ? (UpstreamRefusal.safeParse(error.metadata.raw).data?.error.code ?? null) : null
}

export function responsesError(error: GatewayError): Response {
  return Response.json(responsesErrorBody(error), { status: error.status, headers: error.headers })
}

/**
 * A failed response's `error.code`: the Responses API's own list, and `context_length_exceeded`,
 * which Codex looks for to compact the conversation.
 */
export function failureCode(error: GatewayError): string {
  if (error.type === 'context_length_exceeded') return 'context_length_exceeded'
  if (error.status === 429) return 'rate_limit_exceeded'
  if (error.status === 400) return 'invalid_prompt'
  return 'server_error'
}

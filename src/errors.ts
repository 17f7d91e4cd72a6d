/**
 * The one error type of the gateway. Anything that should reach a client as an error is a
 * `GatewayError`; `toErrorResponse` is the single place that turns it into the wire shape
 * `{ error: { code, message, metadata } }` (OpenRouter's, which OpenAI SDKs also read).
 *
 * @example
 * throw new GatewayError(404, 'not_found', 'No endpoints found for model "x/y"', { model: 'x/y' })
 */
export type ErrorType =
  | 'invalid_request'
  | 'context_length_exceeded'
  | 'authentication'
  | 'permission_denied'
  | 'payment_required'
  | 'not_found'
  | 'timeout'
  | 'payload_too_large'
  | 'rate_limit_exceeded'
  | 'provider_unavailable'
  | 'provider_overloaded'
  | 'server'

export type ErrorMetadata = Record<string, unknown>

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly metadata: ErrorMetadata = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = 'GatewayError'
  }
}

/** The JSON body of an error, also used inside a mid-stream error chunk. */
export function errorBody(err: GatewayError): { code: number; message: string; metadata: ErrorMetadata } {
  return { code: err.status, message: err.message, metadata: { error_type: err.type, ...err.metadata } }
}

export function toErrorResponse(err: GatewayError): Response {
  return Response.json({ error: errorBody(err) }, { status: err.status, headers: err.headers })
}

/** Anything thrown that is not a GatewayError is a bug: mask it rather than leak internals. */
export function internalError(): GatewayError {
  return new GatewayError(500, 'server', 'Internal gateway error')
}

/** A zod issue, as far as errors are explained from it. */
interface Issue {
  path: PropertyKey[]
  message: string
  code?: string
  expected?: string
  errors?: readonly (readonly Issue[])[]
}

/** Issues of a failed zod parse → a 400 that names each bad field by its path. */
export function invalidInput(subject: string, issues: readonly Issue[]): GatewayError {
  const listed = issues.flatMap(explained).slice(0, 5).map((issue) => ({ path: formatPath(issue.path), message: issue.message }))
  const summary = listed.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ')
  return new GatewayError(400, 'invalid_request', `Invalid ${subject}: ${summary}`, { issues: listed })
}

/**
 * A union that failed says only "Invalid input". When the value's type matched exactly one of its
 * options (a list of parts, not a string), that option's own issues say what is wrong, deeper in.
 */
function explained(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union' || !issue.errors) return [issue]
  const wrongType = (option: readonly Issue[]) => option.every((inner) => inner.code === 'invalid_type' && inner.path.length === 0)
  const matched = issue.errors.filter((option) => !wrongType(option))
  if (matched.length === 1) return matched[0]!.flatMap((inner) => explained({ ...inner, path: [...issue.path, ...inner.path] }))
  // No option took the value's type: say which types would do.
  const expected = issue.errors.flatMap((option) => option.map((inner) => inner.expected))
  if (matched.length === 0 && expected.length > 0 && expected.every((type) => type !== undefined)) {
    return [{ ...issue, message: `Invalid input: expected ${[...new Set(expected)].join(' or ')}` }]
  }
  return [issue]
}

function formatPath(path: PropertyKey[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('')
}

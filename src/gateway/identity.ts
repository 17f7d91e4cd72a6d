import type { Endpoint } from '../catalog/snapshot'
import { generationId } from '../tenancy/generation'
import type { AttemptRecord } from './attempts'

/** Who a response is: its generation id (also the X-Generation-Id header) and creation time. */
export interface GenerationIdentity {
  id: string
  /** Unix seconds. */
  created: number
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

export function newGeneration(now: number): GenerationIdentity {
  const created = Math.floor(now / 1000)
  return { id: generationId(created, randomSuffix()), created }
}

function randomSuffix(): string {
  const random = crypto.getRandomValues(new Uint8Array(20))
  // 256 % 62 leaves a slight bias; ids need uniqueness, not uniformity.
  let suffix = ''
  for (const byte of random) suffix += ALPHABET[byte % ALPHABET.length]
  return suffix
}

/**
 * An error answer that names no generation (the request was refused before one was served: bad
 * input, a key over its limits, no route) still gets a request id, as OpenAI's and Anthropic's
 * APIs give every answer one: the SDKs show it on their errors, and an operator finds a 500's
 * log line by it. It names no record (GET /generation knows only generations).
 */
export function withRequestId(error: Response): Response {
  if (error.headers.has('x-request-id')) return error
  const id = `req-${randomSuffix()}`
  error.headers.set('x-request-id', id)
  error.headers.set('request-id', id)
  return error
}

/**
 * The error answer of a request no provider served: it still names its generation (its record
 * holds the attempt log) and how many attempts it took.
 */
export function unservedAnswer(error: Response, identity: GenerationIdentity, attempts: AttemptRecord[]): Response {
  for (const [name, value] of Object.entries(servedHeaders(identity, null, attempts))) error.headers.set(name, value)
  return error
}

/**
 * Headers naming the generation (a token count has none), the serving provider, and how many
 * attempts it took. The generation id is also `x-request-id` and `request-id`, which OpenAI's and
 * Anthropic's SDKs give back as `_request_id` (and on their errors; GET /v1/generation looks it up).
 */
export function servedHeaders(
  identity: GenerationIdentity | null,
  endpoint: Endpoint | null,
  attempts: AttemptRecord[] | null,
): Record<string, string> {
  return {
    ...(identity ? { 'x-generation-id': identity.id, 'x-request-id': identity.id, 'request-id': identity.id } : {}),
    ...(endpoint ? { 'x-meridian-provider': endpoint.provider.id } : {}),
    ...(attempts ? { 'x-meridian-attempts': String(attempts.length) } : {}),
  }
}

import type { Context } from 'hono'
import type { z } from 'zod'
import { readBoundedText } from '../bounded-body'
import { configOf } from '../config'
import { GatewayError, invalidInput } from '../errors'
import { MAX_JSON_DEPTH, nestingDepth } from '../json-depth'
import type { AppEnv } from './context'

/**
 * Reads and validates a JSON body: 413 over MAX_BODY_BYTES, 400 for invalid JSON, 400 naming
 * each bad field for schema violations. The one way a route reads its input.
 */
export async function readJsonBody<Schema extends z.ZodType>(
  c: Context<AppEnv>,
  schema: Schema,
  subject: string,
): Promise<z.infer<Schema>> {
  const limit = configOf(c.env).MAX_BODY_BYTES
  // The raw request's body, read once: Hono's body cache is for routes that read it twice.
  const text = await readBoundedText(c.req.raw, limit)
  if (text === null) throw tooLarge(limit)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unparseable'
    throw new GatewayError(400, 'invalid_request', `Invalid JSON body: ${reason}`)
  }
  if (nestingDepth(json) > MAX_JSON_DEPTH) {
    throw new GatewayError(400, 'invalid_request', `Invalid JSON body: nested deeper than ${MAX_JSON_DEPTH} levels`)
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) throw invalidInput(subject, parsed.error.issues)
  return parsed.data
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, 'payload_too_large', `Request body exceeds the ${limit}-byte limit`, { limit_bytes: limit })
}

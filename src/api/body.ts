import type { Context } from 'hono'
import type { z } from 'zod'
import { readBoundedText } from '../bounded-body'
import { configOf } from '../config'
import { GatewayError, invalidInput } from '../errors'
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
  if (nestingDepth(json) > MAX_DEPTH) {
    throw new GatewayError(400, 'invalid_request', `Invalid JSON body: nested deeper than ${MAX_DEPTH} levels`)
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) throw invalidInput(subject, parsed.error.issues)
  return parsed.data
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, 'payload_too_large', `Request body exceeds the ${limit}-byte limit`, { limit_bytes: limit })
}

/** Deeper than any real request or catalog; past it, recursive code (JSON.stringify) would overflow. */
const MAX_DEPTH = 64

/** Nesting depth of parsed JSON, iteratively (recursion is what deep input would break); only containers are visited. */
function nestingDepth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  let deepest = 0
  const nodes: object[] = [value]
  const depths: number[] = [1]
  while (nodes.length > 0) {
    const node = nodes.pop()!
    const depth = depths.pop()!
    if (depth > deepest) deepest = depth
    if (deepest > MAX_DEPTH) return deepest
    const children = Array.isArray(node) ? node : Object.values(node)
    for (const child of children) {
      if (typeof child !== 'object' || child === null) continue
      nodes.push(child)
      depths.push(depth + 1)
    }
  }
  return deepest
}

import type { Context } from 'hono'
import type * as z from 'zod'
import { readBoundedText } from '../bounded-body'
import { configOf } from '../config'
import { GatewayError, invalidInput } from '../errors'
import { MAX_JSON_DEPTH, nestsTooDeep } from '../json-depth'
import type { AppEnv } from './context'

/**
 * Reads and validates a JSON body (gzip or deflate encoded too): 413 over MAX_BODY_BYTES, 400 for
 * invalid JSON, 400 naming each bad field for schema violations. The one way a route reads its input.
 */
export async function readJsonBody<Schema extends z.ZodType>(
  c: Context<AppEnv>,
  schema: Schema,
  subject: string,
): Promise<z.infer<Schema>> {
  const limit = configOf(c.env).MAX_BODY_BYTES
  // The raw request's body, read once: Hono's body cache is for routes that read it twice.
  const text = await readBodyText(c.req.raw, limit)
  if (text === null) throw tooLarge(limit)
  // Before the parse, which deep nesting would keep busy for seconds.
  if (nestsTooDeep(text)) throw new GatewayError(400, 'invalid_request', `Invalid JSON body: nested deeper than ${MAX_JSON_DEPTH} levels`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    // The parser quotes the start of the body: bytes that are not text are shown as "?".
    const reason = error instanceof Error ? error.message.replace(/[\u0000-\u0008\u000e-\u001f\u007f-\u009f\ufffd]/g, '?') : 'unparseable'
    throw new GatewayError(400, 'invalid_request', `Invalid JSON body: ${reason}`)
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) throw invalidInput(subject, parsed.error.issues)
  return parsed.data
}

/** Content-Encodings a request body may arrive in, as DecompressionStream names them. */
const DECODINGS = new Map<string, 'gzip' | 'deflate'>([
  ['gzip', 'gzip'],
  ['x-gzip', 'gzip'],
  ['deflate', 'deflate'],
])

/**
 * The body's text, decompressed if it was sent compressed (some HTTP clients gzip large bodies),
 * or null past `limit` bytes. The limit holds for the decompressed text, so a small bomb cannot
 * inflate past it, and for the bytes sent, so neither can a stream that inflates to nothing.
 */
async function readBodyText(request: Request, limit: number): Promise<string | null> {
  const encoding = request.headers.get('content-encoding')?.trim().toLowerCase()
  if (!encoding || encoding === 'identity') return readBoundedText(request, limit)
  const format = DECODINGS.get(encoding)
  if (!format) {
    throw new GatewayError(415, 'invalid_request', `Unsupported Content-Encoding "${encoding}": send the body uncompressed, gzip or deflate`)
  }
  if (!request.body) return ''
  let sent = 0
  const counted = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      sent += chunk.byteLength
      if (sent > limit) controller.error(new Error('compressed body over the limit'))
      else controller.enqueue(chunk)
    },
  })
  try {
    return await readBoundedText(new Response(request.body.pipeThrough(counted).pipeThrough(new DecompressionStream(format))), limit)
  } catch {
    if (sent > limit) return null
    throw new GatewayError(400, 'invalid_request', `Invalid request body: not valid ${encoding} data`)
  }
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, 'payload_too_large', `Request body exceeds the ${limit}-byte limit`, { limit_bytes: limit })
}

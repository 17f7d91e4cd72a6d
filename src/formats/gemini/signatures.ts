import * as z from 'zod'
import { base64ToBytes, bytesToBase64 } from '../../base64'

/**
 * Gemini's thought signatures, carried through OpenAI-shaped messages. Gemini 3 attaches an
 * opaque `thoughtSignature` to function-call parts and rejects (400) a later request whose
 * replayed function calls lack it. The canonical message has no field for it, so it travels the
 * way OpenRouter carries it: a `reasoning_details` entry of type `reasoning.encrypted` whose `id`
 * is the tool call's id. Clients that send assistant messages back unchanged round-trip it.
 */

export const SIGNATURE_FORMAT = 'google-gemini-v1'

/**
 * Google's documented stand-in for a signature the client did not keep (history from another
 * model, or a client that rebuilds messages): the request validates, at some cost in reasoning
 * continuity.
 */
export const SKIP_SIGNATURE = 'skip_thought_signature_validator'

export interface SignatureDetail {
  type: 'reasoning.encrypted'
  id: string
  data: string
  format: typeof SIGNATURE_FORMAT
  index: number
}

export function signatureDetail(toolCallId: string, signature: string, index: number): SignatureDetail {
  return { type: 'reasoning.encrypted', id: toolCallId, data: signature, format: SIGNATURE_FORMAT, index }
}

const Details = z.array(
  z.union([
    z.looseObject({ type: z.literal('reasoning.encrypted'), id: z.string(), data: z.string() }),
    z.unknown().transform(() => null),
  ]),
)

/** Tool call id → signature, from an assistant message's `reasoning_details` (malformed entries ignored). */
export function signaturesOf(details: unknown): Map<string, string> {
  const parsed = Details.safeParse(details)
  const signatures = new Map<string, string>()
  for (const detail of parsed.success ? parsed.data : []) if (detail) signatures.set(detail.id, detail.data)
  return signatures
}

/**
 * Anthropic's Messages API has no place for a tool call's signature, but its clients (Claude Code,
 * the SDK) send `redacted_thinking` blocks back as they got them: a signature rides in one, its
 * `data` this prefix and the call's id and signature, base64-encoded JSON. Only the /v1/messages
 * ingress reads it back; Claude never sees it (its details are of another format).
 */
const CARRIED_PREFIX = 'meridian.gemini-signature.'

const Carried = z.object({ id: z.string(), signature: z.string() })

/** A redacted thinking block's `data` carrying one call's signature. */
function carriedSignatureData(toolCallId: string, signature: string): string {
  return CARRIED_PREFIX + bytesToBase64(new TextEncoder().encode(JSON.stringify({ id: toolCallId, signature })))
}

/** The signature a redacted thinking block's `data` carries, if it carries one. */
export function carriedSignature(data: string, index: number): SignatureDetail | null {
  if (!data.startsWith(CARRIED_PREFIX)) return null
  try {
    const carried = Carried.parse(JSON.parse(new TextDecoder().decode(base64ToBytes(data.slice(CARRIED_PREFIX.length)))))
    return signatureDetail(carried.id, carried.signature, index)
  } catch {
    return null
  }
}

const GeminiDetails = z.array(
  z.union([z.looseObject({ type: z.literal('reasoning.encrypted'), id: z.string(), data: z.string(), format: z.literal(SIGNATURE_FORMAT) }), z.unknown().transform(() => null)]),
)

/** A message's Gemini signatures as redacted thinking blocks (Anthropic's wire), in their calls' order. */
export function signatureBlocks(details: unknown): Array<{ type: 'redacted_thinking'; data: string }> {
  const parsed = GeminiDetails.safeParse(details)
  return (parsed.success ? parsed.data : []).flatMap((detail) => (detail ? [{ type: 'redacted_thinking' as const, data: carriedSignatureData(detail.id, detail.data) }] : []))
}

import { z } from 'zod'

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

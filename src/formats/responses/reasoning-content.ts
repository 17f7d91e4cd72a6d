import { base64ToBytes, bytesToBase64 } from '../../base64'
import { MAX_JSON_DEPTH, nestingDepth } from '../../json-depth'

/**
 * A reasoning item's `encrypted_content`, Meridian's way: the answer's `reasoning_details`
 * (OpenRouter's list; Claude's thinking blocks with their signatures, Gemini's thought signatures)
 * as one opaque string, so a Responses client that sends its output back (statelessly, as Codex
 * does with `store: false`, or by `previous_response_id`) replays the model's reasoning as the
 * chat route does. Anthropic needs a tool-use turn's signed thinking back to keep thinking on for
 * the tool result.
 *
 * It is encoded, not encrypted: the signatures inside are what a provider checks, and they cannot
 * be forged. Another issuer's encrypted content (OpenAI's) means nothing to the providers
 * Meridian speaks to and is dropped, as before.
 */

const PREFIX = 'meridian.rd1.'

/** The string for `details` (streamed fragments joined), or null when there are none. */
export function encryptedContent(details: unknown): string | null {
  if (!Array.isArray(details) || details.length === 0) return null
  return PREFIX + bytesToBase64(new TextEncoder().encode(JSON.stringify(joined(details))))
}

/** The `reasoning_details` a string of ours carries; [] for another issuer's, or one that does not decode. */
export function reasoningDetails(encrypted: string | null | undefined): unknown[] {
  if (!encrypted?.startsWith(PREFIX)) return []
  try {
    const details: unknown = JSON.parse(new TextDecoder().decode(base64ToBytes(encrypted.slice(PREFIX.length))))
    // It was never checked with the request body: too deep, it would overflow where it is rendered.
    return Array.isArray(details) && nestingDepth(details) <= MAX_JSON_DEPTH ? details : []
  } catch {
    return []
  }
}

type Entry = Record<string, unknown>
/** Fragments of one block share its index (OpenRouter's streaming rule). */
const isTextEntry = (value: unknown): value is Entry =>
  typeof value === 'object' && value !== null && (value as Entry).type === 'reasoning.text'

/**
 * A stream's fragments as whole entries: consecutive `reasoning.text` fragments of one block (the
 * same index and format) are one entry, their text joined and the signature (sent last) kept.
 * Each streamed thinking delta is a fragment, so unjoined, a long thought would be stored and sent
 * back many times over its size.
 */
function joined(details: unknown[]): unknown[] {
  const out: unknown[] = []
  for (const detail of details) {
    const last = out.at(-1)
    const sameBlock = isTextEntry(detail) && isTextEntry(last) && typeof detail.index === 'number' && last.index === detail.index && last.format === detail.format
    if (sameBlock && !last.signature) {
      const text = `${typeof last.text === 'string' ? last.text : ''}${typeof detail.text === 'string' ? detail.text : ''}`
      out[out.length - 1] = { ...last, ...detail, text }
    } else {
      out.push(detail)
    }
  }
  return out
}

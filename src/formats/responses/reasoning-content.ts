import { MAX_JSON_DEPTH, nestingDepth } from '../../json-depth'

/**
 * A reasoning item's `encrypted_content`, Meridian's way: the answer's `reasoning_details`
 * (OpenRouter's list; Claude's thinking blocks with their signatures) as one opaque string, so a
 * Responses client that sends its output back (statelessly, as Codex does with `store: false`, or
 * by `previous_response_id`) replays the model's reasoning as the chat route does. Anthropic needs
 * a tool-use turn's signed thinking back to keep thinking on for the tool result.
 *
 * It is encoded, not encrypted: the signatures inside are what a provider checks, and they cannot
 * be forged. Another issuer's encrypted content (OpenAI's) means nothing to the providers
 * Meridian speaks to and is dropped, as before.
 */

const PREFIX = 'meridian.rd1.'

/** The string for `details`, or null when there are none. */
export function encryptedContent(details: unknown): string | null {
  if (!Array.isArray(details) || details.length === 0) return null
  const bytes = new TextEncoder().encode(JSON.stringify(details))
  let binary = ''
  // In slices: spreading a whole large array into one call would overflow the stack.
  for (let at = 0; at < bytes.length; at += 0x8000) binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000))
  return PREFIX + btoa(binary)
}

/** The `reasoning_details` a string of ours carries; [] for another issuer's, or one that does not decode. */
export function reasoningDetails(encrypted: string | null | undefined): unknown[] {
  if (!encrypted?.startsWith(PREFIX)) return []
  try {
    const binary = atob(encrypted.slice(PREFIX.length))
    const details: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0))))
    // It was never checked with the request body: too deep, it would overflow where it is rendered.
    return Array.isArray(details) && nestingDepth(details) <= MAX_JSON_DEPTH ? details : []
  } catch {
    return []
  }
}

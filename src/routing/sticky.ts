import { textOf, type ChatRequest } from '../formats/openai/request'
import { hash53 } from '../hash'

/**
 * Sticky routing for prompt caches. A provider's cache holds a conversation's prefix only where
 * it was sent before, so moving a conversation between equally good providers pays the full
 * prompt price again (peers lose caches that way). Instead of remembering where each
 * conversation went, equals are ordered by rendezvous hashing on the conversation: every isolate
 * orders a conversation's candidates alike, with nothing stored and nothing awaited, and an
 * endpoint joining or leaving the equals moves only the conversations it wins or held. Pure.
 */

/** The headers that name a session, in the order read: OpenRouter's, then Claude Code's (2.1.86 on). */
const SESSION_HEADERS = ['x-session-id', 'x-claude-code-session-id'] as const

export interface SessionHeader {
  name: (typeof SESSION_HEADERS)[number]
  value: string
}

/** Where a conversation's key came from, as the routing trace reports it. */
export type StickySource = 'session_id' | SessionHeader['name'] | 'prompt_cache_key' | 'conversation'

export interface Sticky {
  source: StickySource
  /** A 53-bit hash of the key. */
  hash: number
}

/** Of each message that keys a conversation, this much text is hashed: a cache holds a prompt from its start. */
const KEYED_CHARS = 4096

/** The first session header the request carries with a value. */
export function sessionHeaderOf(headers: Headers): SessionHeader | null {
  for (const name of SESSION_HEADERS) {
    const value = headers.get(name)
    if (value) return { name, value }
  }
  return null
}

/**
 * The conversation a request belongs to, as OpenRouter keys it: `session_id`, else a session
 * header (sessionHeaderOf), else `prompt_cache_key`, else the start of its first system or developer
 * message and of its first other message (their text), which stay the same as a conversation
 * grows. Null when none of these has any text (an image-only first message, say): such requests
 * would all share one key, and nothing says they share a cache.
 */
export function conversationOf(request: ChatRequest, sessionHeader: SessionHeader | null): Sticky | null {
  const session = givenKey(request.session_id)
  if (session) return { source: 'session_id', hash: hash53(session) }
  if (sessionHeader) return { source: sessionHeader.name, hash: hash53(sessionHeader.value) }
  const cacheKey = givenKey(request.prompt_cache_key)
  if (cacheKey) return { source: 'prompt_cache_key', hash: hash53(cacheKey) }
  const system = request.messages.find((message) => message.role === 'system' || message.role === 'developer')
  const first = request.messages.find((message) => message.role !== 'system' && message.role !== 'developer')
  const systemText = textOf(system?.content ?? null).slice(0, KEYED_CHARS)
  const firstText = textOf(first?.content ?? null).slice(0, KEYED_CHARS)
  if (!systemText && !firstText) return null
  return { source: 'conversation', hash: hash53(`${systemText}\u0000${firstText}`) }
}

/** A key field as the client sent it: used when it is a string, ignored otherwise (it is not ours to refuse). */
function givenKey(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null
}

/**
 * Orders candidates by rendezvous: each gets a draw from the conversation's hash and its own key,
 * lowest first. The same conversation always gets the same order; across conversations each
 * candidate comes first equally often. (Not weighted by latency: weights that move with every
 * figure would move conversations with them.)
 */
export function rendezvous<T>(candidates: T[], sticky: Sticky, keyOf: (candidate: T) => string): T[] {
  const drawn = candidates.map((candidate) => ({ candidate, draw: hash53(keyOf(candidate), sticky.hash) }))
  return drawn.sort((a, b) => a.draw - b.draw).map((entry) => entry.candidate)
}

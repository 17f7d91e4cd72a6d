import { charactersWithin, estimateFromParts, estimatePromptTokens, imageCount, messageCharacters, requestCharacters } from '../formats/openai/estimate'
import { requestedMaxTokens, type ChatRequest, type Message } from '../formats/openai/request'

/**
 * Context compression, OpenRouter's "middle-out": a prompt too long for every endpoint left is
 * shortened to fit the largest of their windows. Whole turns go first, from the middle of the
 * conversation outwards, where models attend least; a turn is a message with the tool results
 * that answer it, so no call loses its result. If the first and last turns alone are still too
 * long, the middle of the longest texts is cut out. Leading system and developer messages stay.
 * Pure.
 *
 * Asked for by the plugin `{"id": "context-compression"}` (or the legacy `transforms:
 * ["middle-out"]`), and by the Responses API's `truncation: "auto"`. Refused by the plugin with
 * `enabled: false`, `transforms: []`, or `truncation: "disabled"`. Otherwise on only when the
 * largest window is DEFAULT_WINDOW tokens or less, as at OpenRouter.
 */

const DEFAULT_WINDOW = 8192

/**
 * Of the window left beside max_tokens, the share the shortened prompt's estimate may fill. The
 * estimate counts four characters a token; code and most languages other than English take
 * fewer, so a prompt cut to the estimate alone could still be refused.
 */
const HEADROOM = 0.75
/** What stands where the middle of a text was cut out. */
export const ELISION = '\n…\n'
/** A text is not cut below this many characters (half kept from its start, half from its end). */
const MIN_KEPT = 256

export interface Compression {
  /** The window the prompt was shortened for. */
  window: number
  messages_removed: number
  characters_cut: number
  prompt_tokens_estimate: { before: number; after: number }
}

export function compressionAsked(request: ChatRequest): 'on' | 'off' | 'default' {
  const plugin = request.plugins?.find((entry) => entry.id === 'context-compression')
  if (plugin) return plugin.enabled === false ? 'off' : 'on'
  if (request.transforms) return request.transforms.includes('middle-out') ? 'on' : 'off'
  return 'default'
}

/**
 * The request shortened to fit `window` tokens with its max_tokens, or null when compression is
 * off for it or cannot make it fit (images and tool definitions are never cut). The default
 * turns on by the `largest` window routing could use: a prompt is not cut to a small window
 * unasked because a larger one is not otherwise usable.
 */
export function compressToFit(request: ChatRequest, window: number, largest = window): { request: ChatRequest; compression: Compression } | null {
  const asked = compressionAsked(request)
  if (asked === 'off' || (asked === 'default' && largest > DEFAULT_WINDOW)) return null
  const target = Math.floor((window - (requestedMaxTokens(request) ?? 0)) * HEADROOM)
  const kept = withoutMiddleTurns(request, target)
  const cut = cutToFit(kept.messages, charactersWithin(target, kept.images) - requestCharacters(request))
  if (!cut) return null
  const compressed: ChatRequest = { ...request, messages: cut.messages }
  return {
    request: compressed,
    compression: {
      window,
      messages_removed: request.messages.length - cut.messages.length,
      characters_cut: cut.characters,
      prompt_tokens_estimate: { before: estimatePromptTokens(request), after: estimatePromptTokens(compressed) },
    },
  }
}

interface Turn {
  messages: Message[]
  characters: number
  images: number
}

/**
 * The messages left once turns are dropped from the middle outwards until the estimate fits
 * `target` (or only the first and last turns remain), with their image count.
 */
function withoutMiddleTurns(request: ChatRequest, target: number): { messages: Message[]; images: number } {
  const { head, turns } = turnsOf(request.messages)
  let characters = requestCharacters(request)
  let images = 0
  for (const message of head) characters += messageCharacters(message)
  for (const turn of turns) {
    characters += turn.characters
    images += turn.images
  }
  // The dropped turns are [low, high): the block grows from the middle, never taking the first or
  // the last turn, two turns at a time so that user and assistant still alternate as they did
  // (chat templates of open models refuse two user messages in a row).
  const last = turns.length - 1
  let low = Math.floor(turns.length / 2)
  let high = low
  const drop = (index: number) => {
    characters -= turns[index]!.characters
    images -= turns[index]!.images
  }
  while (estimateFromParts(characters, images) > target) {
    let added: number[]
    if (low - 1 >= 1 && high < last) added = [--low, high++]
    else if (high + 1 < last) added = [high++, high++]
    else if (low - 2 >= 1) added = [--low, --low]
    else break
    for (const index of added) drop(index)
  }
  const kept = [...turns.slice(0, low), ...turns.slice(high)]
  return { messages: [...head, ...kept.flatMap((turn) => turn.messages)], images }
}

/** Leading system and developer messages, then turns: a message with the tool results after it. */
function turnsOf(messages: Message[]): { head: Message[]; turns: Turn[] } {
  let start = 0
  while (start < messages.length && (messages[start]!.role === 'system' || messages[start]!.role === 'developer')) start++
  const turns: Turn[] = []
  for (const message of messages.slice(start)) {
    const last = turns.at(-1)
    const turn = message.role === 'tool' && last ? last : { messages: [], characters: 0, images: 0 }
    if (turn !== last) turns.push(turn)
    turn.messages.push(message)
    turn.characters += messageCharacters(message)
    turn.images += imageCount(message)
  }
  return { head: messages.slice(0, start), turns }
}

/**
 * The messages with the middle of their longest texts cut out until they hold at most `allowed`
 * characters; null if cutting every text of a user, assistant or tool message down to MIN_KEPT
 * characters is not enough.
 */
function cutToFit(messages: Message[], allowed: number): { messages: Message[]; characters: number } | null {
  let excess = messages.reduce((sum, message) => sum + messageCharacters(message), 0) - allowed
  if (excess <= 0) return { messages, characters: 0 }
  const texts = cuttableTexts(messages).sort((a, b) => b.text.length - a.text.length)
  // Cutting every text as far as it goes is not enough (each cut may take two characters more, to
  // keep surrogate pairs whole): known before any is cut.
  const room = texts.reduce((sum, { text }) => sum + Math.max(0, text.length - MIN_KEPT - ELISION.length) + 2, 0)
  if (room < excess) return null
  const out = [...messages]
  /** Each message's parts, copied once when the first of them is cut (not once per cut). */
  const parts = new Map<number, ContentParts>()
  let characters = 0
  for (const { index, part, text } of texts) {
    if (excess <= 0) break
    const room = text.length - MIN_KEPT - ELISION.length
    if (room <= 0) break
    const shortened = cutMiddle(text, Math.min(room, excess) + ELISION.length)
    const removed = text.length - shortened.length
    excess -= removed
    characters += removed
    if (part === null) {
      out[index] = { ...out[index]!, content: shortened } as Message
      continue
    }
    let copied = parts.get(index)
    if (!copied) {
      copied = [...(messages[index]!.content as ContentParts)]
      parts.set(index, copied)
      // Each part keeps its type and only a text part's text changes, which TypeScript cannot follow.
      out[index] = { ...out[index]!, content: copied } as Message
    }
    copied[part] = { ...copied[part]!, text: shortened }
  }
  return excess <= 0 ? { messages: out, characters } : null
}

type ContentParts = Array<Record<string, unknown>>

/** A text a cut may shorten: a user, assistant or tool message's string content, or one of its text parts (`part`). */
interface CuttableText {
  index: number
  part: number | null
  text: string
}

function cuttableTexts(messages: Message[]): CuttableText[] {
  return messages.flatMap((message, index): CuttableText[] => {
    if (message.role === 'system' || message.role === 'developer') return []
    const { content } = message
    if (typeof content === 'string') return [{ index, part: null, text: content }]
    if (!Array.isArray(content)) return []
    return content.flatMap((entry, part) => (entry.type === 'text' && typeof entry.text === 'string' ? [{ index, part, text: entry.text }] : []))
  })
}

/** `text` with `count` characters taken out of its middle (never half a surrogate pair) and ELISION in their place. */
function cutMiddle(text: string, count: number): string {
  let start = Math.floor((text.length - count) / 2)
  let end = start + count
  if (isLowSurrogate(text.charCodeAt(start))) start--
  if (isLowSurrogate(text.charCodeAt(end))) end++
  return text.slice(0, start) + ELISION + text.slice(end)
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}

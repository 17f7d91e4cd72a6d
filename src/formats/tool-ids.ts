import { hash53 } from '../hash'

/**
 * Tool-call ids as Anthropic and Bedrock accept them: letters, digits, `_` and `-`, at most 64
 * characters (Bedrock's bound). A conversation may carry ids another provider minted, such as
 * Kimi's `functions.get_weather:0`; each is rewritten the same way wherever it stands (the call
 * and its result), with a hash of the original so that two ids cannot become one. Pure.
 */

const ACCEPTED = /^[A-Za-z0-9_-]{1,64}$/
const HASH_LENGTH = 7

export function portableToolId(id: string): string {
  if (ACCEPTED.test(id)) return id
  const hash = (hash53(id) % 36 ** HASH_LENGTH).toString(36).padStart(HASH_LENGTH, '0')
  return `${id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64 - HASH_LENGTH - 1)}_${hash}`
}

const NINE_ALPHANUMERIC = /^[A-Za-z0-9]{9}$/
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/**
 * Tool-call ids as Mistral takes them: nine letters or digits ("Tool call id was … but must be
 * a-z, A-Z, 0-9, with a length of 9"). Others become nine of their hash's base-62 digits, the call
 * and its result alike.
 */
export function nineCharToolId(id: string): string {
  if (NINE_ALPHANUMERIC.test(id)) return id
  let value = hash53(id)
  let out = ''
  for (let i = 0; i < 9; i++) {
    out = BASE62[value % 62]! + out
    value = Math.floor(value / 62)
  }
  return out
}

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

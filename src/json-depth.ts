/**
 * How deeply parsed JSON nests. Past MAX_JSON_DEPTH, deeper than any real request, catalog or
 * answer, JSON would overflow the recursive code it meets later (JSON.stringify, zod). So it is
 * refused in a client's body, and in whatever part of an upstream's answer or error the gateway
 * passes on to the client.
 */

export const MAX_JSON_DEPTH = 64

/** Nesting depth of parsed JSON, iteratively (recursion is what deep input would break); stops counting past MAX_JSON_DEPTH. */
export function nestingDepth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  let deepest = 0
  const nodes: object[] = [value]
  const depths: number[] = [1]
  while (nodes.length > 0) {
    const node = nodes.pop()!
    const depth = depths.pop()!
    if (depth > deepest) deepest = depth
    if (deepest > MAX_JSON_DEPTH) return deepest
    const children = Array.isArray(node) ? node : Object.values(node)
    for (const child of children) {
      if (typeof child !== 'object' || child === null) continue
      nodes.push(child)
      depths.push(depth + 1)
    }
  }
  return deepest
}

/**
 * Whether JSON text nests deeper than MAX_JSON_DEPTH, read without parsing it (strings skipped):
 * parsing millions of nested brackets first takes seconds of the isolate's CPU, and a client's body
 * is refused before its key is looked at. Valid JSON gives its nesting depth exactly; text that is
 * not JSON is refused by the parse after this, if not here.
 */
export function nestsTooDeep(text: string): boolean {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      for (i++; i < text.length; i++) {
        const inside = text.charCodeAt(i)
        if (inside === BACKSLASH) i++
        else if (inside === QUOTE) break
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > MAX_JSON_DEPTH) return true
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--
    }
  }
  return false
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d

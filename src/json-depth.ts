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

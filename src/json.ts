/** JSON text as its value, or `undefined` when it is not JSON (for a schema to refuse). */
export function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

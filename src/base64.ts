/** Bytes ↔ base64, for the wire formats that carry binary as text. */

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = ''
  // Chunked: spreading a large array into one call can exceed the argument limit.
  for (let at = 0; at < bytes.length; at += 8192) binary += String.fromCharCode(...bytes.subarray(at, at + 8192))
  return btoa(binary)
}

/** Throws on text that is not base64. */
export function base64ToBytes(encoded: string): Uint8Array {
  return Uint8Array.from(atob(encoded), (char) => char.charCodeAt(0))
}

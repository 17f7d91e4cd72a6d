/**
 * A base64 `data:` URL's media type and bytes (still base64), or null for anything else. Parameters
 * (`;charset=utf-8`, `;name=shot.png`, RFC 2397) may come before `;base64`; the media type is
 * kept without them, as every provider wants it.
 */
export function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  const match = /^data:([^;,]+)(?:;[^;,=]+=[^;,]*)*;base64,(.*)$/s.exec(url)
  return match ? { mediaType: match[1]!, data: match[2]! } : null
}

/**
 * A base64 `data:` URL's media type and bytes (still base64), or null for anything else. Parameters
 * (`;charset=utf-8`, `;name=shot.png`, RFC 2397) may come before `;base64`; the media type is
 * kept without them, in lower case, and `image/jpg` (which OpenAI takes) as `image/jpeg`, as every
 * other provider wants it (Gemini and Anthropic refuse `image/jpg` with a 400).
 */
export function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  // Matched without regard to case, `;BASE64` included (WHATWG Fetch's data: URL processor).
  const match = /^data:([^;,]+)(?:;[^;,=]+=[^;,]*)*;base64,(.*)$/is.exec(url)
  if (!match) return null
  const mediaType = match[1]!.trim().toLowerCase()
  // WHATWG's forgiving-base64 decode drops ASCII whitespace: wrapped base64 (Python's encodebytes,
  // GNU base64) is valid there, and providers get it unwrapped.
  return { mediaType: mediaType === 'image/jpg' ? 'image/jpeg' : mediaType, data: match[2]!.replace(/[\t\n\f\r ]+/g, '') }
}

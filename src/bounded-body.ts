/** Decodes whole buffers only (never `stream: true`), so one instance serves every body. */
const utf8 = new TextDecoder()

/**
 * A request's or response's body as text, or null when it is larger than `limit` bytes (the rest is
 * then never read). A body that declares its length and is not compressed is read by the runtime
 * in one go, after the length is checked. Any other is counted as it arrives: a chunked body has
 * no length to check, and a compressed one declares its compressed length, which a small bomb
 * inflates far past. So no body, however it is sent, can fill the isolate's memory.
 */
export async function readBoundedText(message: Request | Response, limit: number): Promise<string | null> {
  const declared = message.headers.get('content-length')
  const encoding = message.headers.get('content-encoding')
  if (declared !== null && (encoding === null || encoding === 'identity')) {
    if (Number(declared) <= limit) return message.text()
    await message.body?.cancel().catch(() => {})
    return null
  }
  if (!message.body) return ''
  const reader = message.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limit) {
      await reader.cancel().catch(() => {})
      return null
    }
    chunks.push(value)
  }
  return utf8.decode(concat(chunks, total))
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!
  const whole = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    whole.set(chunk, offset)
    offset += chunk.byteLength
  }
  return whole
}

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
  const read = await readTextUpTo(message, limit)
  return read.complete ? read.text : null
}

/**
 * The body's text up to `limit` bytes, and whether that was all of it (the rest is never read).
 * Decoded as it arrives, so only the text is held, not the bytes as well.
 */
export async function readTextUpTo(message: Request | Response, limit: number): Promise<{ text: string; complete: boolean }> {
  if (!message.body) return { text: '', complete: true }
  const reader = message.body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return { text: text + decoder.decode(), complete: true }
    const room = limit - total
    total += value.byteLength
    if (total > limit) {
      await reader.cancel().catch(() => {})
      return { text: text + decoder.decode(value.subarray(0, room)), complete: false }
    }
    text += decoder.decode(value, { stream: true })
  }
}

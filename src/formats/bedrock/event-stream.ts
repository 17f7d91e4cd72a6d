/**
 * The AWS event-stream binary framing (`application/vnd.amazon.eventstream`), decoded
 * incrementally. Each message: a 12-byte prelude (total length, headers length, CRC32 of the
 * first 8 bytes), headers, payload, and a CRC32 of everything before it. A bad CRC or an
 * impossible length errors the stream: after a corrupt frame no later boundary can be trusted.
 */

export interface EventStreamMessage {
  /** String-valued headers (`:event-type`, `:message-type`, …); other value types are skipped. */
  headers: Record<string, string>
  payload: Uint8Array
}

const PRELUDE = 12
const MINIMUM = PRELUDE + 4
// AWS caps a message at 16 MiB; anything larger means we are reading garbage.
const MAXIMUM = 16 * 1024 * 1024

export function decodeEventStream(body: ReadableStream<Uint8Array>): ReadableStream<EventStreamMessage> {
  let buffer: Uint8Array = new Uint8Array(0)
  return body.pipeThrough(
    new TransformStream<Uint8Array, EventStreamMessage>({
      transform(chunk, controller) {
        buffer = concat(buffer, chunk)
        while (buffer.length >= PRELUDE) {
          const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength)
          const total = view.getUint32(0)
          if (total < MINIMUM || total > MAXIMUM) throw new Error(`event-stream message length ${total} is out of range`)
          if (crc32(buffer.subarray(0, 8)) !== view.getUint32(8)) throw new Error('event-stream prelude CRC mismatch')
          if (buffer.length < total) return
          controller.enqueue(readMessage(buffer.subarray(0, total)))
          buffer = buffer.slice(total)
        }
      },
      flush() {
        if (buffer.length) throw new Error('event-stream ended inside a message')
      },
    }),
  )
}

function readMessage(bytes: Uint8Array): EventStreamMessage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const total = bytes.length
  if (crc32(bytes.subarray(0, total - 4)) !== view.getUint32(total - 4)) throw new Error('event-stream message CRC mismatch')
  const headersLength = view.getUint32(4)
  if (PRELUDE + headersLength > total - 4) throw new Error('event-stream headers overrun the message')
  return { headers: readHeaders(bytes.subarray(PRELUDE, PRELUDE + headersLength)), payload: bytes.slice(PRELUDE + headersLength, total - 4) }
}

/** Header value types → their fixed byte sizes; 6 (bytes) and 7 (string) carry a 2-byte length. */
const FIXED_SIZES: Record<number, number> = { 0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16 }
const decoder = new TextDecoder()

function readHeaders(bytes: Uint8Array): Record<string, string> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headers: Record<string, string> = {}
  let at = 0
  while (at < bytes.length) {
    const nameLength = view.getUint8(at)
    const name = decoder.decode(bytes.subarray(at + 1, at + 1 + nameLength))
    at += 1 + nameLength
    const type = view.getUint8(at)
    at += 1
    if (type === 6 || type === 7) {
      const length = view.getUint16(at)
      if (type === 7) headers[name] = decoder.decode(bytes.subarray(at + 2, at + 2 + length))
      at += 2 + length
    } else {
      const size = FIXED_SIZES[type]
      if (size === undefined) throw new Error(`event-stream header type ${type} is unknown`)
      at += size
    }
  }
  if (at !== bytes.length) throw new Error('event-stream header overruns its section')
  return headers
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (!a.length) return b
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

/** CRC-32 (IEEE, as zlib), the checksum event-stream uses for both the prelude and the message. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

import { describe, expect, it } from 'vitest'
import { sseMessages } from '../../src/formats/sse'
import { collect } from '../support/streams'

/** A body delivered in exactly these byte chunks. */
function body(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk)
      controller.close()
    },
  })
}

describe('sseMessages', () => {
  it('parses events split anywhere across chunks, CRLF or LF, a comment read as one', async () => {
    const euro = new TextEncoder().encode('data: {"c":"€"}\n\n')
    // The € (three bytes) is cut in two between chunks.
    const cut = euro.indexOf(0xe2) + 1
    const messages = await collect(
      sseMessages(body([': keep-alive\n\nda', 'ta: one\r\n', '\r\nevent: named\ndata: two\ndata: lines\n\n', euro.slice(0, cut), euro.slice(cut)])),
    )
    expect(messages.map(({ event, data, comment }) => (comment ? 'comment' : { event, data }))).toEqual([
      'comment',
      { event: undefined, data: 'one' },
      { event: 'named', data: 'two\nlines' },
      { event: undefined, data: '{"c":"€"}' },
    ])
  })

  it('reads several events of one chunk one at a time, and ends after the last', async () => {
    const reader = sseMessages(body(['data: a\n\ndata: b\n\n']))
    expect((await reader.read()).value?.data).toBe('a')
    expect((await reader.read()).value?.data).toBe('b')
    expect((await reader.read()).done).toBe(true)
  })

  it('drops an unterminated last event, as EventSource does', async () => {
    expect(await collect(sseMessages(body(['data: whole\n\ndata: cut off'])))).toHaveLength(1)
  })

  it('fails on an event that never ends instead of buffering without bound', async () => {
    const megabyte = 'x'.repeat(1024 * 1024)
    const endless = sseMessages(body(['data: ', ...Array.from({ length: 9 }, () => megabyte)]))
    await expect(endless.read()).rejects.toThrow('larger than')
  })

  it('cancels the body', async () => {
    let cancelled: unknown = null
    const stream = new ReadableStream<Uint8Array>({ cancel: (reason) => void (cancelled = reason) })
    await sseMessages(stream).cancel('client gone')
    expect(cancelled).toBe('client gone')
  })
})

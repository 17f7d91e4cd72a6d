import { describe, expect, it } from 'vitest'
import { readBoundedText, readTextUpTo } from '../src/bounded-body'

/** A body sent in the given chunks, counting how many the reader pulled. */
function chunked(chunks: Uint8Array[], headers: Record<string, string> = {}) {
  const counter = { pulled: 0 }
  let index = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (index === chunks.length) return controller.close()
      counter.pulled++
      controller.enqueue(chunks[index++]!)
    },
  })
  return { response: new Response(body, { headers }), counter }
}

const bytes = (text: string) => new TextEncoder().encode(text)

describe('readBoundedText', () => {
  it('reads a body that declares a length within the limit', async () => {
    const response = new Response('{"ok":true}', { headers: { 'content-length': '11' } })
    expect(await readBoundedText(response, 11)).toBe('{"ok":true}')
  })

  it('refuses a body that declares a length over the limit without reading it', async () => {
    const { response, counter } = chunked(Array.from({ length: 10 }, () => bytes('x'.repeat(10))), { 'content-length': '100' })
    expect(await readBoundedText(response, 99)).toBeNull()
    // At most the chunk the stream pulls ahead of any reader.
    expect(counter.pulled).toBeLessThanOrEqual(1)
  })

  it('counts a chunked body as it arrives, and stops reading once it passes the limit', async () => {
    const within = chunked([bytes('ab'), bytes('cd')])
    expect(await readBoundedText(within.response, 4)).toBe('abcd')
    const over = chunked(Array.from({ length: 10 }, () => bytes('x'.repeat(10))))
    expect(await readBoundedText(over.response, 25)).toBeNull()
    expect(over.counter.pulled).toBe(3)
  })

  it('counts a compressed body by what it inflates to, not by its declared length', async () => {
    // As fetch hands it over: inflated, while the headers still declare the compressed length.
    const { response } = chunked([bytes('x'.repeat(50)), bytes('x'.repeat(50))], { 'content-encoding': 'gzip', 'content-length': '20' })
    expect(await readBoundedText(response, 60)).toBeNull()
  })

  it('decodes a character split across chunks', async () => {
    const euro = bytes('€') // three bytes
    const { response } = chunked([bytes('a'), euro.slice(0, 1), euro.slice(1), bytes('b')])
    expect(await readBoundedText(response, 100)).toBe('a€b')
  })

  it('reads an empty body as empty text', async () => {
    expect(await readBoundedText(new Response(null), 10)).toBe('')
    expect(await readBoundedText(chunked([]).response, 10)).toBe('')
  })
})

describe('readTextUpTo', () => {
  it('keeps the first bytes of a longer body, and says it is not all', async () => {
    const { response, counter } = chunked([bytes('The prompt is too long: '), bytes('x'.repeat(100)), bytes('y'.repeat(100))])
    expect(await readTextUpTo(response, 30)).toEqual({ text: 'The prompt is too long: xxxxxx', complete: false })
    expect(counter.pulled).toBeLessThanOrEqual(3)
  })

  it('reads a body within the limit whole', async () => {
    expect(await readTextUpTo(chunked([bytes('a€'), bytes('b')]).response, 5)).toEqual({ text: 'a€b', complete: true })
  })
})

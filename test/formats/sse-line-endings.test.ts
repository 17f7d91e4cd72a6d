import { describe, expect, it } from 'vitest'
import { sseMessages } from '../../src/formats/sse'
import { collect } from '../support/streams'

/**
 * The SSE spec (WHATWG HTML §9.2.5) ends a line with CRLF, LF, or a lone CR "not followed by" LF.
 * At the body's end a trailing CR can be followed by nothing: it ends its line, and the openai and
 * @anthropic-ai/sdk parsers both dispatch such a last event.
 */

const encoder = new TextEncoder()

function body(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(text))
      controller.close()
    },
  })
}

describe('sseMessages', () => {
  it('dispatches the last event when the body ends on its CR blank line', async () => {
    expect((await collect(sseMessages(body('data: one\r\rdata: two\r\r')))).map((message) => message.data)).toEqual(['one', 'two'])
  })

  it('reads a run of comments as one message marked as a comment, between events', async () => {
    const messages = await collect(sseMessages(body('data: one\n\n: OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\ndata: two\n\n')))
    expect(messages.map((message) => (message.comment ? 'comment' : message.data))).toEqual(['one', 'comment', 'two'])
  })
})

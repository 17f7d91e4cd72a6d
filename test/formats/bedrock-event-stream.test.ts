import { describe, expect, it } from 'vitest'
import { crc32, decodeEventStream } from '../../src/formats/bedrock/event-stream'
import { event, eventStreamResponse, exception, textStream } from '../fixtures/bedrock/frames'
import { collect } from '../support/streams'

const decoder = new TextDecoder()

describe('AWS event-stream decoding', () => {
  it('computes the IEEE CRC-32 (check value of "123456789")', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926)
  })

  it.each([1, 5, 16, 4096])('decodes frames cut into %i-byte chunks', async (size) => {
    const messages = await collect(decodeEventStream(eventStreamResponse(textStream, size).body!))
    expect(messages.map((m) => m.headers[':event-type'])).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata'])
    expect(messages[0]!.headers[':message-type']).toBe('event')
    expect(JSON.parse(decoder.decode(messages[1]!.payload))).toEqual({ contentBlockIndex: 0, delta: { text: 'Hel' }, p: 'abcdefgh' })
  })

  it('reads exception frames with their type header', async () => {
    const [message] = await collect(decodeEventStream(eventStreamResponse([exception('throttlingException', 'Too many requests')]).body!))
    expect(message!.headers).toMatchObject({ ':message-type': 'exception', ':exception-type': 'throttlingException' })
  })

  it('errors on a corrupted payload (message CRC)', async () => {
    const bad = event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'x' } })
    bad[bad.length - 6]! ^= 0xff
    await expect(collect(decodeEventStream(eventStreamResponse([textStream[0]!, bad]).body!))).rejects.toThrow(/message CRC/)
  })

  it('errors on a corrupted prelude (prelude CRC)', async () => {
    const bad = event('messageStop', { stopReason: 'end_turn' })
    bad[3]! ^= 0x01
    await expect(collect(decodeEventStream(eventStreamResponse([bad]).body!))).rejects.toThrow(/prelude CRC/)
  })

  it('errors when the body ends inside a message', async () => {
    const cut = textStream[1]!.slice(0, 20)
    await expect(collect(decodeEventStream(eventStreamResponse([cut]).body!))).rejects.toThrow(/ended inside/)
  })
})

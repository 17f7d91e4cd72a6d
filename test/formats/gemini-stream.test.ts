import { describe, expect, it } from 'vitest'
import type { StreamEvent } from '../../src/formats/canonical'
import { createGeminiStreamDecoder } from '../../src/formats/gemini/stream'
import { sseMessages, type SseMessage } from '../../src/formats/sse'
import promptBlocked from '../fixtures/gemini/stream-prompt-blocked.sse?raw'
import textStream from '../fixtures/gemini/stream-text.sse?raw'
import toolCallStream from '../fixtures/gemini/stream-tool-call.sse?raw'

/** Runs raw SSE text (CRLF-separated, as Gemini sends it) through the real parser and one decoder. */
async function decodeAll(text: string): Promise<StreamEvent[]> {
  const decode = createGeminiStreamDecoder()
  const reader = sseMessages(new Response(text).body!)
  const events: StreamEvent[] = []
  for (let read = await reader.read(); !read.done; read = await reader.read()) events.push(...decode(read.value))
  return events
}

const message = (payload: unknown): SseMessage => ({ data: JSON.stringify(payload), event: undefined, id: undefined })
const usage = (prompt: number, completion: number, reasoning = 0) => ({
  type: 'usage',
  usage: { promptTokens: prompt, completionTokens: completion, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: reasoning },
})

describe('createGeminiStreamDecoder', () => {
  it('streams thoughts as reasoning, text as content, then finish, with the last usage winning', async () => {
    const events = await decodeAll(textStream)
    expect(events).toStrictEqual([
      { type: 'delta', delta: { reasoning: '**Counting the planets**\n\nEight planets, listed from the Sun outwards.\n' } },
      usage(11, 0),
      { type: 'delta', delta: { content: 'Mercury, Venus, Earth,' } },
      usage(11, 48, 42),
      { type: 'delta', delta: { content: ' Mars, Jupiter, Saturn, Uranus' } },
      usage(11, 55, 42),
      { type: 'delta', delta: { content: ' and Neptune.' } },
      { type: 'finish', finishReason: 'stop', nativeFinishReason: 'STOP' },
      usage(11, 58, 42),
    ])
  })

  it('sends unknown usage for a chunk whose usage cannot be billed on, so earlier usage no longer stands', () => {
    const decode = createGeminiStreamDecoder()
    const text = (t: string) => ({ candidates: [{ content: { parts: [{ text: t }] } }] })
    expect(decode(message({ ...text('a'), usageMetadata: { promptTokenCount: 5 } }))).toStrictEqual([{ type: 'delta', delta: { content: 'a' } }, usage(5, 0)])
    expect(decode(message({ ...text('b'), usageMetadata: { promptTokenCount: 5, candidatesTokenCount: '7' } }))).toStrictEqual([
      { type: 'delta', delta: { content: 'b' } },
      { type: 'usage', usage: null },
    ])
    expect(decode(message(text('c')))).toStrictEqual([{ type: 'delta', delta: { content: 'c' } }])
  })

  it('emits a function call as one complete tool-call delta carrying its signature, and finishes with tool_calls', async () => {
    const events = await decodeAll(toolCallStream)
    const id = 'call_BQkxaZ6dEf2Fz7IPwJ6R-Ak_0'
    expect(events.slice(2)).toStrictEqual([
      {
        type: 'delta',
        delta: {
          tool_calls: [{ index: 0, id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
          reasoning_details: [
            { type: 'reasoning.encrypted', id, data: 'CiwBcsjafM2kT9wY7rL3vP0qX5nA8bE1dH6uS4zC9fJ2gV7oK3mQ1iR8yW5tN0e=', format: 'google-gemini-v1', index: 0 },
          ],
        },
      },
      { type: 'finish', finishReason: 'tool_calls', nativeFinishReason: 'STOP' },
      usage(74, 129, 112),
    ])
  })

  it('numbers tool calls across chunks', () => {
    const decode = createGeminiStreamDecoder()
    const chunk = (name: string, finishReason?: string) =>
      message({ candidates: [{ content: { parts: [{ functionCall: { name, args: {} } }], role: 'model' }, ...(finishReason ? { finishReason } : {}) }], responseId: 'r' })
    const calls = [...decode(chunk('a')), ...decode(chunk('b', 'STOP'))].flatMap((event) => (event.type === 'delta' ? (event.delta.tool_calls ?? []) : []))
    expect(calls.map((call) => [call.index, call.id, call.function?.name])).toStrictEqual([
      [0, 'call_r_0', 'a'],
      [1, 'call_r_1', 'b'],
    ])
  })

  it('finishes a stream whose prompt was blocked with content_filter and the block reason', async () => {
    expect(await decodeAll(promptBlocked)).toStrictEqual([{ type: 'finish', finishReason: 'content_filter', nativeFinishReason: 'PROHIBITED_CONTENT' }, usage(23, 0)])
  })

  it.each([
    ['SAFETY', 'content_filter'],
    ['MAX_TOKENS', 'length'],
  ])('maps a candidate finishReason %s to %s and finishes only once', (native, expected) => {
    const decode = createGeminiStreamDecoder()
    const chunk = message({ candidates: [{ finishReason: native, index: 0 }] })
    expect([...decode(chunk), ...decode(chunk)]).toStrictEqual([{ type: 'finish', finishReason: expected, nativeFinishReason: native }])
  })

  it.each([
    ['an error object, with the status its code gives', { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } }, 'The model is overloaded.', { status: 503 }],
    ['an error about our key, with none (the provider’s failure)', { error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT', details: [{ reason: 'API_KEY_INVALID' }] } }, 'API key not valid.', {}],
    ['a malformed chunk', { candidates: 'nope' }, 'Gemini sent a malformed stream event', {}],
  ])('reports %s as an error event', (_, payload, text, status) => {
    expect(createGeminiStreamDecoder()(message(payload))).toStrictEqual([{ type: 'error', message: text, raw: payload, ...status }])
  })

  it('reports data that is not JSON as an error event', () => {
    const raw: SseMessage = { data: '{"candidates": [', event: undefined, id: undefined }
    expect(createGeminiStreamDecoder()(raw)).toStrictEqual([{ type: 'error', message: 'Gemini sent a malformed stream event', raw: '{"candidates": [' }])
  })
})

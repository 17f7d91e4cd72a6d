import { describe, expect, it } from 'vitest'
import { ZodError } from 'zod'
import { anthropicErrorMessage, fromAnthropic } from '../../src/formats/anthropic/response'

const USAGE = { input_tokens: 20, output_tokens: 7, cache_read_input_tokens: 100, cache_creation_input_tokens: 30 }

function message(content: unknown[], stop_reason: string | null = 'end_turn', usage: unknown = USAGE) {
  return {
    id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content,
    stop_reason,
    stop_sequence: null,
    usage,
  }
}

const canonicalUsage = { promptTokens: 150, completionTokens: 7, cachedTokens: 100, cacheWriteTokens: 30, reasoningTokens: 0 }

describe('fromAnthropic', () => {
  it('joins text blocks into the content and counts cache reads and writes as prompt tokens', () => {
    const completion = fromAnthropic(
      message([
        { type: 'text', text: 'Hello, ' },
        { type: 'text', text: 'world.', citations: null },
      ]),
      { jsonTool: null },
    )
    expect(completion).toStrictEqual({
      message: { role: 'assistant', content: 'Hello, world.', refusal: null },
      finishReason: 'stop',
      nativeFinishReason: 'end_turn',
      usage: canonicalUsage,
    })
  })

  it('turns tool_use blocks into tool calls and thinking into reasoning with signed reasoning_details', () => {
    const completion = fromAnthropic(
      message(
        [
          { type: 'thinking', thinking: 'The user wants weather. ', signature: 'EqQBCgIYAh' },
          { type: 'redacted_thinking', data: 'EmwKAhgB' },
          { type: 'thinking', thinking: 'Call the tool.', signature: 'EqQBCgIYAi' },
          { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris', units: 'c' } },
          { type: 'tool_use', id: 'toolu_01B', name: 'now', input: {} },
        ],
        'tool_use',
      ),
      { jsonTool: 'json_response' },
    )
    expect(completion).toStrictEqual({
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        reasoning: 'The user wants weather. Call the tool.',
        reasoning_details: [
          { type: 'reasoning.text', text: 'The user wants weather. ', signature: 'EqQBCgIYAh', format: 'anthropic-claude-v1', index: 0 },
          { type: 'reasoning.encrypted', data: 'EmwKAhgB', format: 'anthropic-claude-v1', index: 1 },
          { type: 'reasoning.text', text: 'Call the tool.', signature: 'EqQBCgIYAi', format: 'anthropic-claude-v1', index: 2 },
        ],
        tool_calls: [
          { id: 'toolu_01A', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","units":"c"}' } },
          { id: 'toolu_01B', type: 'function', function: { name: 'now', arguments: '{}' } },
        ],
      },
      finishReason: 'tool_calls',
      nativeFinishReason: 'tool_use',
      usage: canonicalUsage,
    })
  })

  it('keeps the signature of a thinking block whose text was omitted, without an empty reasoning', () => {
    const completion = fromAnthropic(message([{ type: 'thinking', thinking: '', signature: 'EqQBomitted' }, { type: 'text', text: '4' }]), { jsonTool: null })
    expect(completion.message).toStrictEqual({
      role: 'assistant',
      content: '4',
      refusal: null,
      reasoning_details: [{ type: 'reasoning.text', text: '', signature: 'EqQBomitted', format: 'anthropic-claude-v1', index: 0 }],
    })
  })

  it('leaves reasoning and reasoning_details out when the request excluded them', () => {
    const completion = fromAnthropic(
      message([{ type: 'thinking', thinking: 'hmm', signature: 's' }, { type: 'redacted_thinking', data: 'd' }, { type: 'text', text: 'ok' }]),
      { jsonTool: null, excludeReasoning: true },
    )
    expect(completion.message).toStrictEqual({ role: 'assistant', content: 'ok', refusal: null })
  })

  it('exposes the matched stop sequence as message.stop_sequence', () => {
    const body = { ...message([{ type: 'text', text: 'one, two, ' }], 'stop_sequence'), stop_sequence: 'three' }
    const completion = fromAnthropic(body, { jsonTool: null })
    expect(completion.message).toStrictEqual({ role: 'assistant', content: 'one, two, ', refusal: null, stop_sequence: 'three' })
    expect([completion.finishReason, completion.nativeFinishReason]).toStrictEqual(['stop', 'stop_sequence'])
    expect(fromAnthropic(message([{ type: 'text', text: 'x' }]), { jsonTool: null }).message).not.toHaveProperty('stop_sequence')
  })

  it('returns the structured-output tool input as the content with finish reason stop', () => {
    const completion = fromAnthropic(
      message([{ type: 'tool_use', id: 'toolu_01J', name: 'json_response', input: { answer: '42' } }], 'tool_use'),
      { jsonTool: 'json_response' },
    )
    expect(completion.message).toStrictEqual({ role: 'assistant', content: '{"answer":"42"}', refusal: null })
    expect([completion.finishReason, completion.nativeFinishReason]).toStrictEqual(['stop', 'tool_use'])
  })

  it('keeps tool_calls as the finish reason when real calls accompany the structured-output tool', () => {
    const completion = fromAnthropic(
      message(
        [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'toolu_1', name: 'json_response', input: { a: 1 } },
          { type: 'tool_use', id: 'toolu_2', name: 'lookup', input: { q: 'x' } },
        ],
        'tool_use',
      ),
      { jsonTool: 'json_response' },
    )
    expect(completion.message.content).toBe('{"a":1}')
    expect(completion.message.tool_calls).toStrictEqual([{ id: 'toolu_2', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }])
    expect(completion.finishReason).toBe('tool_calls')
  })

  it('treats a json_response tool as an ordinary call when no jsonTool was requested', () => {
    const completion = fromAnthropic(message([{ type: 'tool_use', id: 't', name: 'json_response', input: {} }], 'tool_use'), { jsonTool: null })
    expect(completion.message.content).toBeNull()
    expect(completion.message.tool_calls).toHaveLength(1)
  })

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'stop'],
    [null, 'stop'],
  ])('normalises stop_reason %s to %s', (native, expected) => {
    // The calls decide tool_calls (finishWithCalls): a tool_use turn has its call.
    const content = native === 'tool_use' ? [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] : [{ type: 'text', text: 'x' }]
    const completion = fromAnthropic(message(content, native), { jsonTool: null })
    expect([completion.finishReason, completion.nativeFinishReason]).toStrictEqual([expected, native])
  })

  it.each([
    ['no usage', null, null],
    ['usage without cache fields', { input_tokens: 5, output_tokens: 2 }, { promptTokens: 5, completionTokens: 2, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }],
    ['null cache fields', { input_tokens: 5, output_tokens: 2, cache_read_input_tokens: null, cache_creation_input_tokens: null }, { promptTokens: 5, completionTokens: 2, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }],
    [
      'cache writes kept for an hour (Anthropic\'s breakdown)',
      { input_tokens: 5, output_tokens: 2, cache_creation_input_tokens: 300, cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 } },
      { promptTokens: 305, completionTokens: 2, cachedTokens: 0, cacheWriteTokens: 300, cacheWrite1hTokens: 200, reasoningTokens: 0 },
    ],
    ['an hour\'s writes never above all writes', { input_tokens: 5, output_tokens: 2, cache_creation_input_tokens: 10, cache_creation: { ephemeral_1h_input_tokens: 50 } }, { promptTokens: 15, completionTokens: 2, cachedTokens: 0, cacheWriteTokens: 10, cacheWrite1hTokens: 10, reasoningTokens: 0 }],
    ['an hour\'s writes as a string, as none', { input_tokens: 5, output_tokens: 2, cache_creation: { ephemeral_1h_input_tokens: '9' } }, null],
    ['fractions, rounded up', { input_tokens: 4.2, output_tokens: 2, cache_creation_input_tokens: 0.5 }, { promptTokens: 6, completionTokens: 2, cachedTokens: 0, cacheWriteTokens: 1, reasoningTokens: 0 }],
    // Usage the gateway cannot bill on is no usage: the request is estimated, never charged as zero.
    ['no output count, as none', { input_tokens: 5 }, null],
    ['no input count, as none', { output_tokens: 5 }, null],
    ['a count as a string, as none', { input_tokens: 5, output_tokens: '2' }, null],
    ['a negative count, as none', { input_tokens: -1, output_tokens: 0 }, null],
    ['a cache write past 2^53, as none', { input_tokens: 1, output_tokens: 1, cache_creation_input_tokens: 1e20 }, null],
    ['usage that is not an object, as none', 'lots', null],
  ])('reads usage with %s', (_, usage, expected) => {
    expect(fromAnthropic(message([], 'end_turn', usage), { jsonTool: null }).usage).toStrictEqual(expected)
  })

  it.each([
    ['a non-object', 'oops'],
    ['a body without content', { type: 'message', stop_reason: 'end_turn' }],
    ['a text block without text', message([{ type: 'text' }])],
    ['a tool_use block without input', message([{ type: 'tool_use', id: 't', name: 'f' }])],
    ['a redacted_thinking block without data', message([{ type: 'redacted_thinking' }])],
  ])('throws a ZodError on %s', (_, body) => {
    expect(() => fromAnthropic(body, { jsonTool: null })).toThrow(ZodError)
  })
})

describe('anthropicErrorMessage', () => {
  it.each([
    [{ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'Overloaded'],
    [{ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' }, request_id: 'req_1' }, 'max_tokens: Field required'],
    [{ error: { type: 'api_error' } }, null],
    [{ message: 'nope' }, null],
    ['Bad Gateway', null],
    [null, null],
  ])('extracts the message from %j', (body, expected) => {
    expect(anthropicErrorMessage(body)).toBe(expected)
  })
})

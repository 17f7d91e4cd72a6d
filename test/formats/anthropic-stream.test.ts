import { describe, expect, it } from 'vitest'
import type { StreamEvent } from '../../src/formats/canonical'
import { createAnthropicStreamDecoder } from '../../src/formats/anthropic/stream'
import type { SseMessage } from '../../src/formats/sse'

/** An SSE message as Anthropic sends it: named event, JSON data repeating the name as `type`. */
function sse(event: string, data: Record<string, unknown> = {}): SseMessage {
  return { event, data: JSON.stringify({ type: event, ...data }) }
}

/** The events a stream decodes to, leaving out the usage so far of message_start and message_delta (tested on their own). */
function decodeAll(messages: SseMessage[], jsonTool: string | null = null): StreamEvent[] {
  const decode = createAnthropicStreamDecoder({ jsonTool })
  const soFar = new Set(['message_start', 'message_delta'])
  return messages.flatMap((message) => (soFar.has(message.event ?? '') ? decode(message).filter((event) => event.type !== 'usage') : decode(message)))
}

const start = (usage: Record<string, unknown> = { input_tokens: 472, output_tokens: 2 }) =>
  sse('message_start', {
    message: {
      id: 'msg_014p7gG3wDgGV9EUtLvnow3U',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    },
  })
const blockStart = (index: number, content_block: Record<string, unknown>) => sse('content_block_start', { index, content_block })
const blockDelta = (index: number, delta: Record<string, unknown>) => sse('content_block_delta', { index, delta })
const blockStop = (index: number) => sse('content_block_stop', { index })
const messageDelta = (stop_reason: string, usage: Record<string, unknown>) =>
  sse('message_delta', { delta: { stop_reason, stop_sequence: null }, usage })
const json = (index: number, partial_json: string) => blockDelta(index, { type: 'input_json_delta', partial_json })

const role: StreamEvent = { type: 'delta', delta: { role: 'assistant' } }
const content = (text: string): StreamEvent => ({ type: 'delta', delta: { content: text } })
const usage = (promptTokens: number, completionTokens: number, cachedTokens = 0, cacheWriteTokens = 0): StreamEvent => ({
  type: 'usage',
  usage: { promptTokens, completionTokens, cachedTokens, cacheWriteTokens, reasoningTokens: 0 },
})

describe('createAnthropicStreamDecoder', () => {
  it('decodes a text answer followed by a tool call', () => {
    const events = decodeAll([
      start({ input_tokens: 472, output_tokens: 2, cache_read_input_tokens: 1000, cache_creation_input_tokens: 50 }),
      blockStart(0, { type: 'text', text: '' }),
      sse('ping'),
      blockDelta(0, { type: 'text_delta', text: 'Okay' }),
      blockDelta(0, { type: 'text_delta', text: ', let' }),
      blockDelta(0, { type: 'text_delta', text: "'s check the weather." }),
      blockStop(0),
      blockStart(1, { type: 'tool_use', id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', input: {} }),
      json(1, ''),
      json(1, '{"locat'),
      json(1, 'ion": "San Fra'),
      json(1, 'ncisco, CA", "un'),
      json(1, 'it": "fahrenheit"}'),
      blockStop(1),
      messageDelta('tool_use', { output_tokens: 89 }),
      sse('message_stop'),
    ])
    const args = (text: string): StreamEvent => ({ type: 'delta', delta: { tool_calls: [{ index: 0, function: { arguments: text } }] } })
    expect(events).toStrictEqual([
      role,
      content('Okay'),
      content(', let'),
      content("'s check the weather."),
      {
        type: 'delta',
        delta: { tool_calls: [{ index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
      },
      args('{"locat'),
      args('ion": "San Fra'),
      args('ncisco, CA", "un'),
      args('it": "fahrenheit"}'),
      { type: 'finish', finishReason: 'tool_calls', nativeFinishReason: 'tool_use' },
      usage(1522, 89, 1000, 50),
    ])
  })

  it('numbers tool calls from 0 by tool_use block, whatever their content block index', () => {
    const events = decodeAll([
      start(),
      blockStart(0, { type: 'text', text: 'Two lookups.' }),
      blockStart(1, { type: 'tool_use', id: 'toolu_a', name: 'lookup', input: {} }),
      blockStart(2, { type: 'tool_use', id: 'toolu_b', name: 'lookup', input: {} }),
      json(2, '{"q":"b"}'),
      json(1, '{"q":"a"}'),
    ])
    expect(events.slice(1)).toStrictEqual([
      content('Two lookups.'),
      { type: 'delta', delta: { tool_calls: [{ index: 0, id: 'toolu_a', type: 'function', function: { name: 'lookup', arguments: '' } }] } },
      { type: 'delta', delta: { tool_calls: [{ index: 1, id: 'toolu_b', type: 'function', function: { name: 'lookup', arguments: '' } }] } },
      { type: 'delta', delta: { tool_calls: [{ index: 1, function: { arguments: '{"q":"b"}' } }] } },
      { type: 'delta', delta: { tool_calls: [{ index: 0, function: { arguments: '{"q":"a"}' } }] } },
    ])
  })

  it('decodes thinking with its signature, then text and two parallel tool calls', () => {
    const signature = 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pk'
    const events = decodeAll([
      start({ input_tokens: 2710, output_tokens: 5, cache_read_input_tokens: 1800, cache_creation_input_tokens: 0 }),
      blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
      sse('ping'),
      blockDelta(0, { type: 'thinking_delta', thinking: 'Two cities, ' }),
      blockDelta(0, { type: 'thinking_delta', thinking: 'two calls.' }),
      blockDelta(0, { type: 'signature_delta', signature }),
      blockStop(0),
      blockStart(1, { type: 'text', text: '' }),
      blockDelta(1, { type: 'text_delta', text: "I'll check both." }),
      blockStop(1),
      blockStart(2, { type: 'tool_use', id: 'toolu_01P', name: 'get_weather', input: {} }),
      json(2, ''),
      json(2, '{"city": '),
      json(2, '"Paris"}'),
      blockStop(2),
      blockStart(3, { type: 'tool_use', id: 'toolu_01R', name: 'get_weather', input: {} }),
      json(3, '{"city": "Rome"}'),
      blockStop(3),
      messageDelta('tool_use', { output_tokens: 210 }),
      sse('message_stop'),
    ])
    const thought = (text: string): StreamEvent => ({
      type: 'delta',
      delta: { reasoning: text, reasoning_details: [{ type: 'reasoning.text', text, format: 'anthropic-claude-v1', index: 0 }] },
    })
    const call = (index: number, id: string): StreamEvent => ({
      type: 'delta',
      delta: { tool_calls: [{ index, id, type: 'function', function: { name: 'get_weather', arguments: '' } }] },
    })
    const args = (index: number, text: string): StreamEvent => ({ type: 'delta', delta: { tool_calls: [{ index, function: { arguments: text } }] } })
    expect(events).toStrictEqual([
      role,
      thought('Two cities, '),
      thought('two calls.'),
      { type: 'delta', delta: { reasoning_details: [{ type: 'reasoning.text', signature, format: 'anthropic-claude-v1', index: 0 }] } },
      content("I'll check both."),
      call(0, 'toolu_01P'),
      args(0, '{"city": '),
      args(0, '"Paris"}'),
      call(1, 'toolu_01R'),
      args(1, '{"city": "Rome"}'),
      { type: 'finish', finishReason: 'tool_calls', nativeFinishReason: 'tool_use' },
      usage(4510, 210, 1800, 0),
    ])
  })

  it('numbers reasoning details across thinking and redacted_thinking blocks', () => {
    const events = decodeAll([
      start({ input_tokens: 10, output_tokens: 1 }),
      blockStart(0, { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' }),
      blockStop(0),
      blockStart(1, { type: 'thinking', thinking: '', signature: '' }),
      blockDelta(1, { type: 'thinking_delta', thinking: 'Sum.' }),
      blockDelta(1, { type: 'signature_delta', signature: 'sig' }),
      blockStop(1),
      blockStart(2, { type: 'text', text: '' }),
      blockDelta(2, { type: 'text_delta', text: '4' }),
      blockStop(2),
      messageDelta('end_turn', { output_tokens: 30 }),
      sse('message_stop'),
    ])
    expect(events).toStrictEqual([
      role,
      { type: 'delta', delta: { reasoning_details: [{ type: 'reasoning.encrypted', data: 'EmwKAhgBEgy3va3pzix', format: 'anthropic-claude-v1', index: 0 }] } },
      { type: 'delta', delta: { reasoning: 'Sum.', reasoning_details: [{ type: 'reasoning.text', text: 'Sum.', format: 'anthropic-claude-v1', index: 1 }] } },
      { type: 'delta', delta: { reasoning_details: [{ type: 'reasoning.text', signature: 'sig', format: 'anthropic-claude-v1', index: 1 }] } },
      content('4'),
      { type: 'finish', finishReason: 'stop', nativeFinishReason: 'end_turn' },
      usage(10, 30),
    ])
  })

  it('leaves thinking out when the request excluded reasoning', () => {
    const decode = createAnthropicStreamDecoder({ jsonTool: null, excludeReasoning: true })
    const events = [
      start(),
      blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
      blockDelta(0, { type: 'thinking_delta', thinking: 'hidden' }),
      blockDelta(0, { type: 'signature_delta', signature: 'sig' }),
      blockStart(1, { type: 'redacted_thinking', data: 'x' }),
      blockStart(2, { type: 'text', text: 'shown' }),
    ].flatMap((message) => decode(message))
    // Not shown, but counted: a stream cut before its usage is charged for it.
    expect(events).toStrictEqual([usage(472, 2), role, { type: 'hidden', characters: 6 }, content('shown')])
  })

  it('sends the matched stop sequence as a delta before the finish', () => {
    const events = decodeAll([
      start({ input_tokens: 12, output_tokens: 1 }),
      blockStart(0, { type: 'text', text: '' }),
      blockDelta(0, { type: 'text_delta', text: 'one, two, ' }),
      blockStop(0),
      sse('message_delta', { delta: { stop_reason: 'stop_sequence', stop_sequence: 'three' }, usage: { output_tokens: 6 } }),
      sse('message_stop'),
    ])
    expect(events.slice(2)).toStrictEqual([
      { type: 'delta', delta: { stop_sequence: 'three' } },
      { type: 'finish', finishReason: 'stop', nativeFinishReason: 'stop_sequence' },
      usage(12, 6),
    ])
  })

  it('streams the structured-output tool input as content and finishes with stop', () => {
    const events = decodeAll(
      [
        start({ input_tokens: 80, output_tokens: 1 }),
        blockStart(0, { type: 'tool_use', id: 'toolu_01J', name: 'json_response', input: {} }),
        json(0, ''),
        json(0, '{"answ'),
        json(0, 'er": "4'),
        json(0, '2"}'),
        blockStop(0),
        messageDelta('tool_use', { output_tokens: 12 }),
        sse('message_stop'),
      ],
      'json_response',
    )
    expect(events).toStrictEqual([
      role,
      content('{"answ'),
      content('er": "4'),
      content('2"}'),
      { type: 'finish', finishReason: 'stop', nativeFinishReason: 'tool_use' },
      usage(80, 12),
    ])
  })

  it('holds text while the JSON answer may still come: dropped when it does, released before a client tool call or the end', () => {
    const preamble = [start({ input_tokens: 80, output_tokens: 1 }), blockStart(0, { type: 'text', text: '' }), blockDelta(0, { type: 'text_delta', text: 'Here ' }), blockDelta(0, { type: 'text_delta', text: 'it is.' }), blockStop(0)]
    const finish = (native: string) => [messageDelta(native, { output_tokens: 12 }), sse('message_stop')]
    const answeredInJson = decodeAll(
      [...preamble, blockStart(1, { type: 'tool_use', id: 'toolu_01J', name: 'json_response', input: {} }), json(1, '{"a": 1}'), blockStop(1), ...finish('tool_use')],
      'json_response',
    )
    // Held text is counted as it comes (hidden), so a stream cut before its usage is charged for it.
    const held = [{ type: 'hidden', characters: 5 }, { type: 'hidden', characters: 6 }]
    const released = { type: 'delta', delta: { content: 'Here it is.' }, counted: true }
    expect(answeredInJson).toStrictEqual([role, ...held, content('{"a": 1}'), { type: 'finish', finishReason: 'stop', nativeFinishReason: 'tool_use' }, usage(80, 12)])

    const calledATool = decodeAll(
      [...preamble, blockStart(1, { type: 'tool_use', id: 'toolu_01K', name: 'lookup', input: {} }), json(1, '{}'), blockStop(1), ...finish('tool_use')],
      'json_response',
    )
    expect(calledATool.slice(0, 5)).toStrictEqual([
      role,
      ...held,
      released,
      { type: 'delta', delta: { tool_calls: [{ index: 0, id: 'toolu_01K', type: 'function', function: { name: 'lookup', arguments: '' } }] } },
    ])

    const answeredInText = decodeAll([...preamble, ...finish('end_turn')], 'json_response')
    expect(answeredInText).toStrictEqual([role, ...held, released, { type: 'finish', finishReason: 'stop', nativeFinishReason: 'end_turn' }, usage(80, 12)])
    // Without a JSON tool, text is never held.
    expect(decodeAll(preamble).slice(0, 3)).toStrictEqual([role, content('Here '), content('it is.')])
  })

  it('reports an error event with its message and raw body; before any content block, nothing has opened the answer', () => {
    const raw = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }
    const events = decodeAll([start(), sse('ping'), { event: 'error', data: JSON.stringify(raw) }])
    expect(events).toStrictEqual([{ type: 'error', message: 'Overloaded', raw, status: 529 }])
  })

  it('gives a call whose input never streamed the input its start gave ({} for a tool without parameters), at its stop', () => {
    const events = decodeAll([
      start(),
      blockStart(0, { type: 'tool_use', id: 'toolu_now', name: 'now', input: {} }),
      json(0, ''),
      blockStop(0),
      blockStart(1, { type: 'tool_use', id: 'toolu_w', name: 'get_weather', input: {} }),
      json(1, '{"city":"Oslo"}'),
      blockStop(1),
      blockStart(2, { type: 'tool_use', id: 'toolu_p', name: 'proxy', input: { city: 'Rome' } }),
      json(2, ' '),
      blockStop(2),
    ])
    expect(events.slice(1)).toStrictEqual([
      { type: 'delta', delta: { tool_calls: [{ index: 0, id: 'toolu_now', type: 'function', function: { name: 'now', arguments: '' } }] } },
      { type: 'delta', delta: { tool_calls: [{ index: 0, function: { arguments: '{}' } }] } },
      { type: 'delta', delta: { tool_calls: [{ index: 1, id: 'toolu_w', type: 'function', function: { name: 'get_weather', arguments: '' } }] } },
      { type: 'delta', delta: { tool_calls: [{ index: 1, function: { arguments: '{"city":"Oslo"}' } }] } },
      { type: 'delta', delta: { tool_calls: [{ index: 2, id: 'toolu_p', type: 'function', function: { name: 'proxy', arguments: '' } }] } },
      // Whitespace alone is no input: the start's still comes.
      { type: 'delta', delta: { tool_calls: [{ index: 2, function: { arguments: ' ' } }] } },
      { type: 'delta', delta: { tool_calls: [{ index: 2, function: { arguments: '{"city":"Rome"}' } }] } },
    ])
  })

  it('sends the input counted at message_start at once, as usage so far, so a stream that fails later is charged it', () => {
    const decode = createAnthropicStreamDecoder({ jsonTool: null })
    expect(decode(start({ input_tokens: 472, output_tokens: 2, cache_read_input_tokens: 1000, cache_creation_input_tokens: 50 }))).toStrictEqual([usage(1522, 2, 1000, 50)])
    expect(decode(blockStart(0, { type: 'text', text: '' }))).toStrictEqual([role])
    expect(decode({ event: 'error', data: JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'Internal' } }) })).toMatchObject([{ type: 'error', message: 'Internal' }])
    // Usage that is not usage is sent as unknown, so the gateway estimates it.
    expect(createAnthropicStreamDecoder({ jsonTool: null })(start({ input_tokens: '472', output_tokens: 2 }))).toStrictEqual([{ type: 'usage', usage: null }])
  })

  it('opens the answer with its first content block, even a hidden one, or with its end', () => {
    const decode = createAnthropicStreamDecoder({ jsonTool: null, excludeReasoning: true })
    expect(decode(start())).toStrictEqual([usage(472, 2)])
    expect(decode(blockStart(0, { type: 'thinking', thinking: '' }))).toStrictEqual([role])
    expect(decode(blockDelta(0, { type: 'thinking_delta', thinking: 'hidden' }))).toStrictEqual([{ type: 'hidden', characters: 6 }])
    expect(decodeAll([start(), messageDelta('end_turn', { output_tokens: 0 }), sse('message_stop')])).toStrictEqual([
      role,
      { type: 'finish', finishReason: 'stop', nativeFinishReason: 'end_turn' },
      usage(472, 2),
    ])
  })

  it('falls back to the type in the data when the event has no name', () => {
    const decode = createAnthropicStreamDecoder({ jsonTool: null })
    expect(decode({ data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}' })).toStrictEqual([content('hi')])
    expect(decode({ data: '{"type":"ping"}' })).toStrictEqual([])
  })

  it('keeps the largest cumulative usage figures across message_start and message_delta', () => {
    const events = decodeAll([
      start({ input_tokens: 100, output_tokens: 1, cache_read_input_tokens: 20 }),
      messageDelta('max_tokens', { input_tokens: 0, output_tokens: 256, cache_read_input_tokens: 20, cache_creation_input_tokens: 5 }),
      sse('message_stop'),
    ])
    expect(events.slice(1)).toStrictEqual([{ type: 'finish', finishReason: 'length', nativeFinishReason: 'max_tokens' }, usage(125, 256, 20, 5)])
  })

  it("keeps message_start's count of cache writes kept for an hour", () => {
    const events = decodeAll([
      start({ input_tokens: 100, output_tokens: 1, cache_creation_input_tokens: 40, cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 30 } }),
      messageDelta('end_turn', { output_tokens: 9 }),
      sse('message_stop'),
    ])
    expect(events.at(-1)).toStrictEqual({ type: 'usage', usage: { promptTokens: 140, completionTokens: 9, cachedTokens: 0, cacheWriteTokens: 40, cacheWrite1hTokens: 30, reasoningTokens: 0 } })
  })

  it.each([
    ['message_start without an input count', [start({ output_tokens: 1 }), messageDelta('end_turn', { output_tokens: 9 })]],
    ['a message_delta whose count is a string', [start(), messageDelta('end_turn', { output_tokens: '9' })]],
    ['a message_start whose usage is not an object', [start('lots' as unknown as Record<string, unknown>), messageDelta('end_turn', { output_tokens: 9 })]],
    ['a negative count', [start({ input_tokens: -5, output_tokens: 1 }), messageDelta('end_turn', { output_tokens: 9 })]],
  ])('sends unknown usage (so the gateway estimates it) after %s', (_, messages) => {
    expect(decodeAll([...messages, sse('message_stop')])).toStrictEqual([
      role,
      { type: 'finish', finishReason: 'stop', nativeFinishReason: 'end_turn' },
      { type: 'usage', usage: null },
    ])
  })

  it('reads a stream whose message_start and message_delta carry no usage at all (some Anthropic-compatible servers), as unknown usage', () => {
    const decode = createAnthropicStreamDecoder({ jsonTool: null })
    const events = [
      sse('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [] } }),
      blockStart(0, { type: 'text', text: '' }),
      blockDelta(0, { type: 'text_delta', text: 'Hi' }),
      sse('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null } }),
      sse('message_stop'),
    ].flatMap((message) => decode(message))
    expect(events).toStrictEqual([
      { type: 'usage', usage: null },
      role,
      content('Hi'),
      { type: 'usage', usage: null },
      { type: 'finish', finishReason: 'stop', nativeFinishReason: 'end_turn' },
      { type: 'usage', usage: null },
    ])
  })

  it("sends message_delta's final output count as usage so far, so a stream cut before message_stop is charged it", () => {
    const decode = createAnthropicStreamDecoder({ jsonTool: null })
    decode(start({ input_tokens: 100, output_tokens: 1 }))
    expect(decode(messageDelta('end_turn', { output_tokens: 500 }))).toStrictEqual([usage(100, 500)])
  })

  it('rounds fractional counts up', () => {
    const events = decodeAll([start({ input_tokens: 10.5, output_tokens: 1 }), messageDelta('end_turn', { output_tokens: 3.1 }), sse('message_stop')])
    expect(events.at(-1)).toStrictEqual(usage(11, 4))
  })

  it.each([
    ['data that is not JSON', { event: 'content_block_delta', data: '{"type":"content_block_de' }, '{"type":"content_block_de'],
    ['a known event of the wrong shape', { event: 'content_block_delta', data: '{"index":0,"delta":{"type":"text_delta"}}' }, { index: 0, delta: { type: 'text_delta' } }],
    ['a message_start without message', { event: 'message_start', data: '{"type":"message_start"}' }, { type: 'message_start' }],
  ])('turns %s into an error event', (_, message, raw) => {
    expect(decodeAll([message])).toStrictEqual([{ type: 'error', message: 'Anthropic sent a malformed stream event', raw }])
  })

  it('ignores event types it does not know', () => {
    expect(decodeAll([sse('content_block_audit', { index: 0 }), blockDelta(0, { type: 'citations_delta', citation: {} })])).toStrictEqual([])
  })
})

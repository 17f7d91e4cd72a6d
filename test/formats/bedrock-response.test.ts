import { describe, expect, it } from 'vitest'
import { bedrockErrorMessage, fromBedrock, type BedrockDecodeOptions } from '../../src/formats/bedrock/response'
import { bedrockStreamMessages, createBedrockStreamDecoder } from '../../src/formats/bedrock/stream'
import type { StreamEvent } from '../../src/formats/canonical'
import text from '../fixtures/bedrock/converse-text.json'
import toolUse from '../fixtures/bedrock/converse-tool-use.json'
import { event, eventStreamResponse, exception, textStream, toolStream } from '../fixtures/bedrock/frames'
import { collect } from '../support/streams'

async function decodeAll(frames: Uint8Array[], options: BedrockDecodeOptions = {}): Promise<StreamEvent[]> {
  const decode = createBedrockStreamDecoder(options)
  return (await collect(bedrockStreamMessages(eventStreamResponse(frames, 3).body!))).flatMap(decode)
}

describe('fromBedrock', () => {
  it('reads text, stop reason and usage', () => {
    expect(fromBedrock(text)).toEqual({
      message: { role: 'assistant', content: 'The tower is 330 m tall.', refusal: null },
      finishReason: 'stop',
      nativeFinishReason: 'end_turn',
      usage: { promptTokens: 30, completionTokens: 9, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
    })
  })

  it('reads reasoning, tool use and cache reads (counted into prompt tokens)', () => {
    const completion = fromBedrock(toolUse)
    expect(completion.message).toMatchObject({
      content: 'Let me check.',
      reasoning: 'The user wants weather.',
      tool_calls: [{ id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    })
    expect(completion.finishReason).toBe('tool_calls')
    expect(completion.usage).toMatchObject({ promptTokens: 1400, cachedTokens: 1000, completionTokens: 60 })
  })

  it('gives Claude\'s reasoning back as signed and redacted reasoning_details, unless excluded', () => {
    const content = [
      { reasoningContent: { reasoningText: { text: 'The user wants weather.', signature: 'c2ln' } } },
      { reasoningContent: { redactedContent: 'ZW5j' } },
      { text: 'Sunny.' },
    ]
    const body = { ...text, output: { message: { role: 'assistant', content } } }
    expect(fromBedrock(body, { claude: true }).message).toEqual({
      role: 'assistant',
      content: 'Sunny.',
      refusal: null,
      reasoning: 'The user wants weather.',
      reasoning_details: [
        { type: 'reasoning.text', text: 'The user wants weather.', signature: 'c2ln', format: 'anthropic-claude-v1', index: 0 },
        { type: 'reasoning.encrypted', data: 'ZW5j', format: 'anthropic-claude-v1', index: 1 },
      ],
    })
    expect(fromBedrock(body, { claude: true, excludeReasoning: true }).message).toEqual({ role: 'assistant', content: 'Sunny.', refusal: null })
    // Another model's reasoning carries no signature Claude could check: text only.
    expect(fromBedrock(body).message).not.toHaveProperty('reasoning_details')
  })

  it('answers with the structured-output tool\'s input as the content, finishing normally', () => {
    const content = [{ text: 'Here it is:' }, { toolUse: { toolUseId: 'tooluse_1', name: 'json_response', input: { city: 'Paris' } } }]
    const body = { ...text, stopReason: 'tool_use', output: { message: { role: 'assistant', content } } }
    const completion = fromBedrock(body, { jsonTool: 'json_response' })
    expect(completion.message).toEqual({ role: 'assistant', content: '{"city":"Paris"}', refusal: null })
    expect(completion.finishReason).toBe('stop')
    // Without it the call is the client's own.
    expect(fromBedrock(body).finishReason).toBe('tool_calls')
  })

  it.each([
    ['a fraction, rounded up', { inputTokens: 2.5, outputTokens: 3, cacheWriteInputTokens: 0.1 }, { promptTokens: 4, completionTokens: 3, cachedTokens: 0, cacheWriteTokens: 1, reasoningTokens: 0 }],
    [
      'writes kept an hour, from cacheDetails',
      { inputTokens: 30, outputTokens: 9, cacheWriteInputTokens: 1000, cacheDetails: [{ ttl: '1h', inputTokens: 800 }, { ttl: '5m', inputTokens: 200 }] },
      { promptTokens: 1030, completionTokens: 9, cachedTokens: 0, cacheWriteTokens: 1000, cacheWrite1hTokens: 800, reasoningTokens: 0 },
    ],
    ['cacheDetails that are not a list, as no breakdown', { inputTokens: 30, outputTokens: 9, cacheWriteInputTokens: 10, cacheDetails: 'x' }, { promptTokens: 40, completionTokens: 9, cachedTokens: 0, cacheWriteTokens: 10, reasoningTokens: 0 }],
    // Usage the gateway cannot bill on is no usage: the request is estimated, never charged as zero.
    ['no output count, as none', { inputTokens: 30 }, null],
    ['a count as a string, as none', { inputTokens: 30, outputTokens: '9' }, null],
    ['a negative cache read, as none', { inputTokens: 30, outputTokens: 9, cacheReadInputTokens: -1 }, null],
  ])('reads usage with %s', (_, usage, expected) => {
    expect(fromBedrock({ ...text, usage }).usage).toStrictEqual(expected)
  })

  it.each([
    ['max_tokens', 'length'],
    ['stop_sequence', 'stop'],
    ['guardrail_intervened', 'content_filter'],
    ['content_filtered', 'content_filter'],
  ])('maps stopReason %s → %s', (stopReason, expected) => {
    expect(fromBedrock({ ...text, stopReason }).finishReason).toBe(expected)
  })

  it('rejects garbage and reads AWS error bodies', () => {
    expect(() => fromBedrock({ output: {} })).toThrow()
    expect(bedrockErrorMessage({ message: 'The security token included in the request is invalid.' })).toBe('The security token included in the request is invalid.')
    expect(bedrockErrorMessage({ Message: 'x' })).toBe('x')
    expect(bedrockErrorMessage('nope')).toBeNull()
  })
})

describe('Bedrock stream decoding', () => {
  it('turns text deltas, messageStop and metadata into canonical events', async () => {
    expect(await decodeAll(textStream)).toEqual([
      { type: 'delta', delta: { content: 'Hel' } },
      { type: 'delta', delta: { content: 'lo!' } },
      { type: 'finish', finishReason: 'stop', nativeFinishReason: 'end_turn' },
      { type: 'usage', usage: { promptTokens: 21, completionTokens: 3, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 } },
    ])
  })

  it('streams reasoning and tool calls in OpenAI incremental form', async () => {
    const events = await decodeAll(toolStream)
    expect(events.slice(0, 4)).toEqual([
      { type: 'delta', delta: { reasoning: 'Need weather.' } },
      { type: 'delta', delta: { tool_calls: [{ index: 0, id: 'tooluse_abc', type: 'function', function: { name: 'get_weather', arguments: '' } }] } },
      { type: 'delta', delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] } },
      { type: 'delta', delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] } },
    ])
    expect(events[4]).toEqual({ type: 'finish', finishReason: 'tool_calls', nativeFinishReason: 'tool_use' })
    expect(events[5]).toMatchObject({ type: 'usage', usage: { promptTokens: 70, cachedTokens: 20 } })
  })

  it('gives a call whose input never streamed {} at its block’s stop, or at the end when no stop came', async () => {
    const start = (contentBlockIndex: number, id: string) => event('contentBlockStart', { contentBlockIndex, start: { toolUse: { toolUseId: id, name: 'now' } } })
    const events = await decodeAll([
      start(0, 'tooluse_1'),
      event('contentBlockStop', { contentBlockIndex: 0 }),
      start(1, 'tooluse_2'),
      event('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"tz":"UTC"}' } } }),
      event('contentBlockStop', { contentBlockIndex: 1 }),
      start(2, 'tooluse_3'),
      event('contentBlockDelta', { contentBlockIndex: 2, delta: { toolUse: { input: '' } } }),
      event('messageStop', { stopReason: 'tool_use' }),
    ])
    const opened = (index: number, id: string) => ({ type: 'delta', delta: { tool_calls: [{ index, id, type: 'function', function: { name: 'now', arguments: '' } }] } })
    const argued = (index: number, args: string) => ({ type: 'delta', delta: { tool_calls: [{ index, function: { arguments: args } }] } })
    expect(events).toEqual([
      opened(0, 'tooluse_1'),
      argued(0, '{}'),
      opened(1, 'tooluse_2'),
      argued(1, '{"tz":"UTC"}'),
      opened(2, 'tooluse_3'),
      argued(2, '{}'),
      { type: 'finish', finishReason: 'tool_calls', nativeFinishReason: 'tool_use' },
    ])
  })

  it('gives a call whose streamed input was only whitespace {} at its stop, as one that streamed none', async () => {
    const events = await decodeAll([
      event('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: 'tooluse_1', name: 'now' } } }),
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: ' ' } } }),
      event('contentBlockStop', { contentBlockIndex: 0 }),
      event('messageStop', { stopReason: 'tool_use' }),
    ])
    const args = events.flatMap((e) => (e.type === 'delta' ? (e.delta.tool_calls ?? []) : [])).map((call) => call.function?.arguments ?? '').join('')
    expect(args).toBe(' {}')
  })

  it('streams Claude\'s reasoning with its signature and redacted blocks as reasoning_details, one index per block', async () => {
    // A redacted block whose stop never came goes out before the finish.
    const unstopped = await decodeAll([event('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { redactedContent: 'ZW5j' } } }), event('messageStop', { stopReason: 'end_turn' })], { claude: true })
    expect(unstopped).toEqual([
      { type: 'delta', delta: { reasoning_details: [{ type: 'reasoning.encrypted', data: 'ZW5j', format: 'anthropic-claude-v1', index: 0 }] } },
      { type: 'finish', finishReason: 'stop', nativeFinishReason: 'end_turn' },
    ])
    const frames = [
      toolStream[0]!,
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { text: 'Need ' } } }),
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { text: 'weather.' } } }),
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { signature: 'c2ln' } } }),
      // A redacted block in two pieces ("en", "c") goes out whole ("enc") at its stop.
      event('contentBlockDelta', { contentBlockIndex: 1, delta: { reasoningContent: { redactedContent: 'ZW4=' } } }),
      event('contentBlockDelta', { contentBlockIndex: 1, delta: { reasoningContent: { redactedContent: 'Yw==' } } }),
      event('contentBlockStop', { contentBlockIndex: 1 }),
      event('contentBlockDelta', { contentBlockIndex: 2, delta: { text: 'Sunny.' } }),
    ]
    const detail = (fields: object) => ({ type: 'delta', delta: { reasoning_details: [{ format: 'anthropic-claude-v1', ...fields }] } })
    expect(await decodeAll(frames, { claude: true })).toEqual([
      { type: 'delta', delta: { reasoning: 'Need ', reasoning_details: [{ type: 'reasoning.text', text: 'Need ', format: 'anthropic-claude-v1', index: 0 }] } },
      { type: 'delta', delta: { reasoning: 'weather.', reasoning_details: [{ type: 'reasoning.text', text: 'weather.', format: 'anthropic-claude-v1', index: 0 }] } },
      detail({ type: 'reasoning.text', signature: 'c2ln', index: 0 }),
      detail({ type: 'reasoning.encrypted', data: 'ZW5j', index: 1 }),
      { type: 'delta', delta: { content: 'Sunny.' } },
    ])
    // Not shown, but counted: a stream cut before its usage is charged for it.
    const hidden = (characters: number) => ({ type: 'hidden', characters })
    expect(await decodeAll(frames, { claude: true, excludeReasoning: true })).toEqual([hidden(5), hidden(8), { type: 'delta', delta: { content: 'Sunny.' } }])
  })

  it('streams the structured-output tool\'s input as content and finishes normally', async () => {
    const frames = [
      event('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: 'tooluse_1', name: 'json_response' } } }),
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: '{"city":' } } }),
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: '"Paris"}' } } }),
      event('messageStop', { stopReason: 'tool_use' }),
    ]
    expect(await decodeAll(frames, { jsonTool: 'json_response' })).toEqual([
      { type: 'delta', delta: { content: '{"city":' } },
      { type: 'delta', delta: { content: '"Paris"}' } },
      { type: 'finish', finishReason: 'stop', nativeFinishReason: 'tool_use' },
    ])
  })

  it('holds text while the JSON answer may still come: dropped when it does, released before a client tool call or the end', async () => {
    const preamble = [event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Here ' } }), event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'it is.' } })]
    const toolStart = (name: string) => event('contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 'tooluse_1', name } } })
    const input = event('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{}' } } })
    const stop = (stopReason: string) => event('messageStop', { stopReason })
    const options = { jsonTool: 'json_response' }
    // Held text still opens the answer (a role delta), so the attempt counts as answering.
    const opened = { type: 'delta', delta: { role: 'assistant' } }
    // Held text is counted as it comes (hidden), so a stream cut before its usage is charged for it.
    const held = [{ type: 'hidden', characters: 5 }, { type: 'hidden', characters: 6 }]
    const released = { type: 'delta', delta: { content: 'Here it is.' }, counted: true }
    expect(await decodeAll([...preamble, toolStart('json_response'), input, stop('tool_use')], options)).toStrictEqual([
      opened,
      ...held,
      { type: 'delta', delta: { content: '{}' } },
      { type: 'finish', finishReason: 'stop', nativeFinishReason: 'tool_use' },
    ])
    expect((await decodeAll([...preamble, toolStart('lookup'), input, stop('tool_use')], options)).slice(0, 5)).toStrictEqual([
      opened,
      ...held,
      released,
      { type: 'delta', delta: { tool_calls: [{ index: 0, id: 'tooluse_1', type: 'function', function: { name: 'lookup', arguments: '' } }] } },
    ])
    expect(await decodeAll([...preamble, stop('end_turn')], options)).toStrictEqual([
      opened,
      ...held,
      released,
      { type: 'finish', finishReason: 'stop', nativeFinishReason: 'end_turn' },
    ])
  })

  it('sends unknown usage (so the gateway estimates it) for metadata whose usage lacks a count', async () => {
    const events = await decodeAll([textStream[1]!, event('metadata', { usage: { inputTokens: 21 } })])
    expect(events.slice(1)).toStrictEqual([{ type: 'usage', usage: null }])
  })

  it('turns exception frames and malformed events into error events', async () => {
    const events = await decodeAll([textStream[1]!, exception('modelStreamErrorException', 'The model failed'), event('messageStop', { nope: 1 })])
    expect(events[1]).toEqual({ type: 'error', message: 'modelStreamErrorException: The model failed', raw: { message: 'The model failed' } })
    expect(events[2]).toMatchObject({ type: 'error', message: 'Bedrock sent a malformed stream event' })
  })
})

describe('a Converse turn the model could not finish', () => {
  // Converse's StopReason includes malformed_tool_use and malformed_model_output: the model's call
  // or answer could not be parsed. An empty "stop" would read as a finished turn.
  it.each(['malformed_tool_use', 'malformed_model_output'])('finishes a non-streamed %s with "error", not "stop"', (stopReason) => {
    const body = { ...text, stopReason, output: { message: { role: 'assistant', content: [] } } }
    expect(fromBedrock(body)).toMatchObject({ finishReason: 'error', nativeFinishReason: stopReason })
  })

  it('finishes a streamed malformed_tool_use with "error", not "stop"', async () => {
    const decode = createBedrockStreamDecoder({})
    const frames = [event('messageStart', { role: 'assistant' }), event('messageStop', { stopReason: 'malformed_tool_use' })]
    const events = (await collect(bedrockStreamMessages(eventStreamResponse(frames).body!))).flatMap(decode)
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'error', nativeFinishReason: 'malformed_tool_use' })
  })
})

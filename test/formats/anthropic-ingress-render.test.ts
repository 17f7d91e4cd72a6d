import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { encryptedDetail, signatureDetail, textDetail } from '../../src/formats/anthropic/details'
import { anthropicErrorBody, createMessageStream, renderMessage, stopReason } from '../../src/formats/anthropic/render'
import type { Completion, Delta, FinishReason, StreamEvent } from '../../src/formats/canonical'
import type { ChatRequest } from '../../src/formats/openai/request'
import type { ResponseMeta, UsageReport } from '../../src/formats/openai/render'

const meta: ResponseMeta = { id: 'gen-1-abc', created: 1, model: 'test/chat', provider: 'Alpha', systemFingerprint: 'fp' }
const request: ChatRequest = { model: 'test/chat', messages: [{ role: 'user', content: 'hello there' }] }
const report: UsageReport = {
  usage: { promptTokens: 1000, completionTokens: 50, cachedTokens: 600, cacheWriteTokens: 100, reasoningTokens: 0 },
  costNano: 1_500_000,
}

const completion = (message: Partial<Completion['message']>, finishReason: FinishReason = 'stop', native: string | null = 'stop'): Completion => ({
  message: { role: 'assistant', content: null, refusal: null, ...message },
  finishReason,
  nativeFinishReason: native,
  usage: null,
})

describe('stopReason', () => {
  const cases: Array<[FinishReason, string | null, string]> = [
    ['stop', 'stop', 'end_turn'],
    ['stop', 'end_turn', 'end_turn'],
    ['stop', 'stop_sequence', 'stop_sequence'],
    ['stop', 'pause_turn', 'pause_turn'],
    ['length', 'length', 'max_tokens'],
    ['length', 'model_context_window_exceeded', 'model_context_window_exceeded'],
    ['tool_calls', 'tool_calls', 'tool_use'],
    ['content_filter', 'content_filter', 'refusal'],
    // The structured-output tool answered: canonical stop wins over the native tool_use.
    ['stop', 'tool_use', 'end_turn'],
    ['stop', null, 'end_turn'],
  ]
  for (const [finish, native, expected] of cases) {
    it(`${finish} (native ${native}) → ${expected}`, () => expect(stopReason(finish, native)).toBe(expected))
  }
})

describe('renderMessage', () => {
  it("keeps Claude's thinking blocks with their signatures, and redacted ones, in order", () => {
    const details = [textDetail(0, 'First.', 'sig-0'), encryptedDetail(1, 'opaque'), textDetail(2, 'Second.', 'sig-2')]
    const body = renderMessage(meta, completion({ content: 'Done.', reasoning: 'First.Second.', reasoning_details: details }), report, request)
    expect(body.content).toEqual([
      { type: 'thinking', thinking: 'First.', signature: 'sig-0' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'thinking', thinking: 'Second.', signature: 'sig-2' },
      { type: 'text', text: 'Done.' },
    ])
  })

  it('renders thinking, text and tool_use blocks with parsed input and uncached input usage', () => {
    const body = renderMessage(
      meta,
      completion(
        {
          content: 'Checking.',
          reasoning: 'User wants weather.',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
        },
        'tool_calls',
        'tool_calls',
      ),
      report,
      request,
    )
    expect(body).toEqual({
      id: 'gen-1-abc',
      type: 'message',
      role: 'assistant',
      model: 'test/chat',
      provider: 'Alpha',
      content: [
        { type: 'thinking', thinking: 'User wants weather.', signature: '' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Oslo' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 300, output_tokens: 50, cache_read_input_tokens: 600, cache_creation_input_tokens: 100, cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 0 }, cost: 0.0015 },
    })
  })

  const cases: Array<{ name: string; completion: Completion; request?: ChatRequest; expected: object }> = [
    { name: 'empty content', completion: completion({}), expected: { content: [], stop_reason: 'end_turn' } },
    { name: 'a refusal as text', completion: completion({ refusal: 'No.' }, 'content_filter', 'content_filter'), expected: { content: [{ type: 'text', text: 'No.' }], stop_reason: 'refusal' } },
    { name: 'length → max_tokens', completion: completion({ content: 'cut' }, 'length', 'length'), expected: { stop_reason: 'max_tokens' } },
    {
      name: 'malformed tool arguments become an empty input',
      completion: completion({ tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }, 'tool_calls', 'tool_calls'),
      expected: { content: [{ type: 'tool_use', id: 'c', name: 'f', input: {} }] },
    },
    {
      name: 'the one requested stop sequence is named',
      completion: completion({ content: 'a' }, 'stop', 'stop_sequence'),
      request: { ...request, stop: ['END'] },
      expected: { stop_reason: 'stop_sequence', stop_sequence: 'END' },
    },
    {
      name: 'with several stop sequences, which one matched is unknown',
      completion: completion({ content: 'a' }, 'stop', 'stop_sequence'),
      request: { ...request, stop: ['END', 'STOP'] },
      expected: { stop_reason: 'stop_sequence', stop_sequence: null },
    },
  ]
  for (const { name, completion: served, request: asked, expected } of cases) {
    it(name, () => expect(renderMessage(meta, served, report, asked ?? request)).toMatchObject(expected))
  }
})

describe('anthropicErrorBody', () => {
  const cases: Array<[number, string]> = [
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [402, 'billing_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [408, 'timeout_error'],
    [413, 'request_too_large'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [502, 'api_error'],
    [503, 'overloaded_error'],
  ]
  for (const [status, type] of cases) {
    it(`${status} → ${type}`, () => {
      expect(anthropicErrorBody(new GatewayError(status, 'server', 'boom'))).toEqual({ type: 'error', error: { type, message: 'boom' } })
    })
  }
  it('keeps the metadata (the provider\'s raw reason) as an extra field', () => {
    expect(anthropicErrorBody(new GatewayError(502, 'provider_unavailable', 'Provider returned error', { raw: 'x' })).error).toMatchObject({ metadata: { raw: 'x' } })
  })
})

/** Runs canonical events through a writer and decodes the SSE it produced. */
async function streamed(events: Array<Extract<StreamEvent, { type: 'delta' | 'finish' }>>, failure?: GatewayError) {
  const writer = createMessageStream(meta, request)
  const bytes = events.flatMap((event) => writer.event(event))
  if (failure) bytes.push(...writer.error(failure))
  bytes.push(...(await writer.end(failure ? null : report, {})))
  const text = bytes.map((chunk) => new TextDecoder().decode(chunk)).join('')
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const [eventLine, dataLine] = block.split('\n')
      const data = JSON.parse(dataLine!.slice('data: '.length)) as Record<string, unknown>
      expect(eventLine).toBe(`event: ${data.type}`)
      return data
    })
}

const summary = (events: Record<string, any>[]) =>
  events.map((event) => {
    if (event.type === 'content_block_start') return `start ${event.index} ${event.content_block.type}`
    if (event.type === 'content_block_delta') return `delta ${event.index} ${event.delta.text ?? event.delta.thinking ?? event.delta.partial_json ?? `signed ${event.delta.signature}`}`
    if (event.type === 'content_block_stop') return `stop ${event.index}`
    if (event.type === 'message_delta') return `message_delta ${event.delta.stop_reason}`
    return event.type
  })

describe('createMessageStream', () => {
  const delta = (value: Delta) => ({ type: 'delta' as const, delta: value })
  const finish = (finishReason: FinishReason, native: string | null = finishReason) => ({ type: 'finish' as const, finishReason, nativeFinishReason: native })

  const cases: Array<{ name: string; events: Parameters<typeof streamed>[0]; expected: string[] }> = [
    {
      name: 'text in pieces',
      events: [delta({ role: 'assistant' }), delta({ content: 'Hel' }), delta({ content: '' }), delta({ content: 'lo' }), finish('stop')],
      expected: ['message_start', 'start 0 text', 'delta 0 Hel', 'delta 0 lo', 'stop 0', 'message_delta end_turn', 'message_stop'],
    },
    {
      name: 'reasoning, then text, then two tool calls',
      events: [
        delta({ reasoning: 'Think' }),
        delta({ content: 'Sure.' }),
        delta({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '' } }] }),
        delta({ tool_calls: [{ index: 0, function: { arguments: '{"x":' } }] }),
        delta({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
        delta({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } }] }),
        finish('tool_calls'),
      ],
      expected: [
        'message_start',
        'start 0 thinking',
        'delta 0 Think',
        'stop 0',
        'start 1 text',
        'delta 1 Sure.',
        'stop 1',
        'start 2 tool_use',
        'delta 2 {"x":',
        'delta 2 1}',
        'stop 2',
        'start 3 tool_use',
        'delta 3 {}',
        'stop 3',
        'message_delta tool_use',
        'message_stop',
      ],
    },
    {
      name: "Claude's thinking, block by block, with its signatures and a redacted block",
      events: [
        delta({ reasoning: 'Fir', reasoning_details: [textDetail(0, 'Fir')] }),
        delta({ reasoning: 'st.', reasoning_details: [textDetail(0, 'st.')] }),
        delta({ reasoning_details: [signatureDetail(0, 'sig-0')] }),
        delta({ reasoning_details: [encryptedDetail(1, 'opaque')] }),
        delta({ reasoning: 'Second.', reasoning_details: [textDetail(2, 'Second.')] }),
        delta({ reasoning_details: [signatureDetail(2, 'sig-2')] }),
        // Another provider's entries are not Claude's blocks: its reasoning streams as plain thinking.
        delta({ content: 'Done.', reasoning_details: [{ type: 'reasoning.encrypted', data: 'g', format: 'google-gemini-v1' }] }),
        finish('stop'),
      ],
      expected: [
        'message_start',
        'start 0 thinking',
        'delta 0 Fir',
        'delta 0 st.',
        'delta 0 signed sig-0',
        'stop 0',
        'start 1 redacted_thinking',
        'stop 1',
        'start 2 thinking',
        'delta 2 Second.',
        'delta 2 signed sig-2',
        'stop 2',
        'start 3 text',
        'delta 3 Done.',
        'stop 3',
        'message_delta end_turn',
        'message_stop',
      ],
    },
    {
      // Some OpenAI-format servers interleave parallel calls; Anthropic's blocks are sequential.
      name: "a call that begins while the open call's input is not whole waits, gathered, until it is",
      events: [
        delta({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'now', arguments: '' } }] }),
        delta({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{"x":' } }] }),
        delta({ tool_calls: [{ index: 2, id: 'call_c', type: 'function', function: { name: 'h', arguments: '' } }] }),
        // The OpenAI decoder fills a call that streamed no arguments with `{}` at the finish.
        delta({ tool_calls: [{ index: 1, function: { arguments: '1}' } }, { index: 0, function: { arguments: '{}' } }, { index: 2, function: { arguments: '{}' } }] }),
        finish('tool_calls'),
      ],
      expected: [
        'message_start',
        'start 0 tool_use',
        'delta 0 {}',
        'stop 0',
        'start 1 tool_use',
        'delta 1 {"x":1}',
        'stop 1',
        'start 2 tool_use',
        'delta 2 {}',
        'stop 2',
        'message_delta tool_use',
        'message_stop',
      ],
    },
    {
      name: 'calls still waiting when text comes, or the message ends, start then, in order',
      events: [
        delta({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }),
        delta({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{"b":2}' } }] }),
        delta({ content: 'Also.' }),
        delta({ tool_calls: [{ index: 2, id: 'call_c', type: 'function', function: { name: 'h', arguments: '{"c":' } }] }),
        delta({ tool_calls: [{ index: 3, id: 'call_d', type: 'function', function: { name: 'k', arguments: '{}' } }] }),
        finish('tool_calls'),
      ],
      expected: [
        'message_start',
        'start 0 tool_use',
        'delta 0 {"a":',
        'stop 0',
        'start 1 tool_use',
        'delta 1 {"b":2}',
        'stop 1',
        'start 2 text',
        'delta 2 Also.',
        'stop 2',
        'start 3 tool_use',
        'delta 3 {"c":',
        'stop 3',
        'start 4 tool_use',
        'delta 4 {}',
        'stop 4',
        'message_delta tool_use',
        'message_stop',
      ],
    },
    {
      name: "a late `{}` for a call that streamed nothing is dropped; a late fragment of a call that streamed some is kept",
      events: [
        delta({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'now', arguments: '' } }] }),
        delta({ content: 'Hm.' }),
        delta({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{"x":' } }] }),
        delta({ content: 'More.' }),
        delta({ tool_calls: [{ index: 1, function: { arguments: '1}' } }, { index: 0, function: { arguments: '{}' } }] }),
        finish('tool_calls'),
      ],
      expected: [
        'message_start',
        'start 0 tool_use',
        'stop 0',
        'start 1 text',
        'delta 1 Hm.',
        'stop 1',
        'start 2 tool_use',
        'delta 2 {"x":',
        'stop 2',
        'start 3 text',
        'delta 3 More.',
        'delta 2 1}',
        'stop 3',
        'message_delta tool_use',
        'message_stop',
      ],
    },
    {
      // From a fuzz against the Anthropic SDK: its final message parses each block's input, and "\n" alone is no JSON.
      name: 'whitespace that changes no input is held back: before a call’s first character, after its whole input once its block stopped, after a late `{}`',
      events: [
        delta({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '' } }, { index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: ' ' } }] }),
        delta({ tool_calls: [{ index: 0, function: { arguments: '{}' } }, { index: 0, function: { arguments: '\n' } }] }),
        delta({ tool_calls: [{ index: 1, function: { arguments: '{"y":2}' } }] }),
        delta({ tool_calls: [{ index: 2, id: 'call_c', type: 'function', function: { name: 'h', arguments: '' } }] }),
        delta({ content: 'x' }),
        delta({ tool_calls: [{ index: 2, function: { arguments: '{}' } }, { index: 2, function: { arguments: '\n' } }] }),
        finish('tool_calls'),
      ],
      expected: [
        'message_start',
        'start 0 tool_use',
        'delta 0 {}',
        'stop 0',
        'start 1 tool_use',
        'delta 1  {"y":2}',
        'stop 1',
        'start 2 tool_use',
        'stop 2',
        'start 3 text',
        'delta 3 x',
        'stop 3',
        'message_delta tool_use',
        'message_stop',
      ],
    },
    { name: 'a finish with no content', events: [finish('length')], expected: ['message_start', 'message_delta max_tokens', 'message_stop'] },
  ]
  for (const { name, events, expected } of cases) {
    it(name, async () => expect(summary(await streamed(events))).toEqual(expected))
  }

  it('opens with the message skeleton and estimated input usage, ends with the real usage', async () => {
    const events = await streamed([delta({ content: 'Hi' }), finish('stop')])
    expect(events[0]).toEqual({
      type: 'message_start',
      message: {
        id: 'gen-1-abc',
        type: 'message',
        role: 'assistant',
        model: 'test/chat',
        provider: 'Alpha',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 3, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 } },
      },
    })
    expect(events[1]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
    expect(events.at(-2)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 300, output_tokens: 50, cache_read_input_tokens: 600, cache_creation_input_tokens: 100, cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 0 }, cost: 0.0015 },
    })
  })

  it('names a tool call it was given without an id', async () => {
    const events = await streamed([delta({ tool_calls: [{ index: 0, function: { name: 'f', arguments: '{}' } }] }), finish('tool_calls')])
    expect(events[1]).toMatchObject({ content_block: { type: 'tool_use', id: 'toolu_gen-1-abc_0', name: 'f', input: {} } })
  })

  it('ends a failed stream with an error event and nothing after it', async () => {
    const events = await streamed([delta({ content: 'par' })], new GatewayError(502, 'provider_unavailable', 'Upstream connection lost mid-stream'))
    expect(summary(events)).toEqual(['message_start', 'start 0 text', 'delta 0 par', 'error'])
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { type: 'api_error', message: 'Upstream connection lost mid-stream' } })
  })
})

import { AIMessageChunk, HumanMessage } from '@langchain/core/messages'
import { ChatOpenAI } from '@langchain/openai'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { BETA, GAMMA } from '../support/catalog'
import { chat, gatewayFetch, readSse, setUpGateway } from '../support/gateway'
import { anthropicEvent as ev, data, fakeUpstreams, jsonResponse, openaiCompletion, sseResponse } from '../support/upstream'

/**
 * How a turn's tool calls finish, as SDK consumers read them: the calls decide `finish_reason`
 * (an Anthropic-compatible server may say end_turn beside a call, a provider tool_use or
 * tool_calls with none); a call without arguments gets its `{}` before the next call opens; an
 * upstream that states its finish twice is relayed with one.
 */

const tenant = setUpGateway()
const viaGateway = ((url: string, init: RequestInit) => gatewayFetch(new URL(url).pathname, init)) as typeof fetch
const client = () => new OpenAI({ baseURL: 'https://gateway.test/v1', apiKey: tenant.key, maxRetries: 0, fetch: viaGateway })
const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]
const ask = { model: 'test/claude', messages: [{ role: 'user' as const, content: 'Weather in Paris?' }], tools }

const message = (content: object[], stop_reason: string | null) => ({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content, stop_reason, stop_sequence: null, usage: { input_tokens: 20, output_tokens: 10 } })
const anthropicStream = (blocks: 'call' | 'text', stop_reason: string) =>
  sseResponse([
    ev('message_start', { message: { ...message([], null), usage: { input_tokens: 20, output_tokens: 1 } } }),
    ...(blocks === 'call'
      ? [
          ev('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_A', name: 'get_weather', input: {} } }),
          ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":"Paris"}' } }),
        ]
      : [ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }), ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Done.' } })]),
    ev('content_block_stop', { index: 0 }),
    ev('message_delta', { delta: { stop_reason, stop_sequence: null }, usage: { output_tokens: 10 } }),
    ev('message_stop', {}),
  ])
const chunk = (delta: object, finish: string | null = null, usage?: object) =>
  data({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'up', choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })

describe('an Anthropic-format turn that calls tools but says end_turn (vLLM)', () => {
  it('finishes with tool_calls (JSON)', async () => {
    fakeUpstreams({ [BETA]: () => jsonResponse(message([{ type: 'tool_use', id: 'toolu_A', name: 'get_weather', input: { city: 'Paris' } }], 'end_turn')) })
    const completion = await client().chat.completions.create(ask)
    expect(completion.choices[0]!.message.tool_calls).toHaveLength(1)
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls')
  })

  it('finishes with tool_calls (stream, as the openai SDK assembles it)', async () => {
    fakeUpstreams({ [BETA]: () => anthropicStream('call', 'end_turn') })
    const final = await client().chat.completions.stream(ask).finalChatCompletion()
    expect(final.choices[0]!.message.tool_calls).toHaveLength(1)
    expect(final.choices[0]!.finish_reason).toBe('tool_calls')
  })
})

describe('a turn without calls that says it made some', () => {
  it('finishes with stop: Anthropic-format, JSON', async () => {
    fakeUpstreams({ [BETA]: () => jsonResponse(message([{ type: 'text', text: 'Done.' }], 'tool_use')) })
    const body = (await (await chat(tenant.key, ask)).json()) as { choices: { finish_reason: string; message: { tool_calls?: unknown[] } }[] }
    expect(body.choices[0]!.message.tool_calls).toBeUndefined()
    expect(body.choices[0]!.finish_reason).toBe('stop')
  })

  it('finishes with stop: Anthropic-format, stream', async () => {
    fakeUpstreams({ [BETA]: () => anthropicStream('text', 'tool_use') })
    const final = await client().chat.completions.stream(ask).finalChatCompletion()
    expect(final.choices[0]!.message.tool_calls).toBeUndefined()
    expect(final.choices[0]!.finish_reason).toBe('stop')
  })

  it('finishes with stop: OpenAI-format, JSON with an empty tool_calls list', async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'Done.', tool_calls: [], finish_reason: 'tool_calls' })) })
    const completion = await client().chat.completions.create({ ...ask, model: 'test/other' })
    expect(completion.choices[0]!.message.tool_calls).toBeUndefined()
    expect(completion.choices[0]!.finish_reason).toBe('stop')
  })

  it('finishes with stop: OpenAI-format, stream', async () => {
    fakeUpstreams({ [GAMMA]: () => sseResponse([chunk({ role: 'assistant', content: 'Done.' }), chunk({ tool_calls: [] }, 'tool_calls'), 'data: [DONE]\n\n']) })
    const final = await client().chat.completions.stream({ ...ask, model: 'test/other' }).finalChatCompletion()
    expect(final.choices[0]!.message.tool_calls).toBeUndefined()
    expect(final.choices[0]!.finish_reason).toBe('stop')
  })
})

describe('a streamed call without arguments followed by another call (OpenAI-format upstream)', () => {
  const upstream = () =>
    sseResponse([
      chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_time', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: '{"city":"Paris"}' } }] }),
      chunk({}, 'tool_calls'),
      data({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'up', choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }),
      'data: [DONE]\n\n',
    ])
  const strictTools = [
    { type: 'function' as const, function: { name: 'get_time', strict: true, parameters: { type: 'object', properties: {}, required: [], additionalProperties: false } } },
    { type: 'function' as const, function: { name: 'get_weather', strict: true, parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } } },
  ]

  it('reaches the openai SDK stream helper with {} before the next call opens', async () => {
    fakeUpstreams({ [GAMMA]: upstream })
    const done: { name: string; arguments: string }[] = []
    const stream = client().chat.completions.stream({
      model: 'test/other',
      messages: [{ role: 'user', content: 'Time and weather?' }],
      tools: strictTools.map(({ function: { strict: _strict, ...fn }, ...tool }) => ({ ...tool, function: fn })),
    })
    stream.on('tool_calls.function.arguments.done', (event) => done.push({ name: event.name, arguments: event.arguments }))
    await stream.finalChatCompletion()
    expect(done).toEqual([
      { name: 'get_time', arguments: '{}' },
      { name: 'get_weather', arguments: '{"city":"Paris"}' },
    ])
  })

  it('does not fail the stream of strict tools', async () => {
    fakeUpstreams({ [GAMMA]: upstream })
    const final = await client().chat.completions.stream({ model: 'test/other', messages: [{ role: 'user', content: 'Time and weather?' }], tools: strictTools }).finalChatCompletion()
    expect(final.choices[0]!.message.tool_calls!.map((call) => call.type === 'function' && call.function.arguments)).toEqual(['{}', '{"city":"Paris"}'])
  })
})

describe('an OpenAI-format upstream that sends its finish twice', () => {
  const twiceFinished = () =>
    sseResponse([
      chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }),
      chunk({}, 'tool_calls'),
      chunk({}, 'tool_calls', { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }),
      'data: [DONE]\n\n',
    ])

  it('is relayed with one finish chunk', async () => {
    fakeUpstreams({ [GAMMA]: twiceFinished })
    const { data: chunks } = await readSse(await chat(tenant.key, { model: 'test/other', stream: true, messages: [{ role: 'user', content: 'Weather?' }], tools }))
    const finishes = chunks.flatMap((c) => (c.choices as { finish_reason: string | null }[]).filter((choice) => choice.finish_reason !== null))
    expect(finishes).toHaveLength(1)
  })

  it('leaves LangChain a finish_reason and model_name it can read', async () => {
    fakeUpstreams({ [GAMMA]: twiceFinished })
    const model = new ChatOpenAI({ model: 'test/other', apiKey: tenant.key, maxRetries: 0, configuration: { baseURL: 'https://gateway.test/v1', fetch: viaGateway } }).bindTools(tools)
    let final: AIMessageChunk | undefined
    for await (const piece of await model.stream([new HumanMessage('Weather?')])) final = final ? final.concat(piece) : piece
    expect(final!.tool_calls).toMatchObject([{ name: 'get_weather', args: { city: 'Paris' }, id: 'call_a' }])
    expect(final!.response_metadata.finish_reason).toBe('tool_calls')
    expect(final!.response_metadata.model_name).toBe('test/other')
  })
})

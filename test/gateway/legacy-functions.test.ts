import { describe, expect, it } from 'vitest'
import { BETA, GAMMA } from '../support/catalog'
import { chat, readSse, setUpGateway } from '../support/gateway'
import { fakeUpstreams, anthropicEvent, jsonResponse, openaiCompletion, sseResponse } from '../support/upstream'

const tenant = setUpGateway()

const weather = { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }

describe("OpenAI's deprecated function calling", () => {
  it('reaches an OpenAI-format upstream as tools, and its tool call comes back as function_call', async () => {
    const upstream = fakeUpstreams({
      [GAMMA]: () =>
        jsonResponse(
          openaiCompletion({ content: null, finish_reason: 'tool_calls', tool_calls: [{ id: 'call_up', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] }),
        ),
    })
    const response = await chat(tenant.key, { model: 'test/other', functions: [weather], messages: [{ role: 'user', content: 'Weather in Oslo?' }] })
    expect(response.status).toBe(200)
    const sent = upstream.calls[0]!.body
    expect(sent).toMatchObject({ tools: [{ type: 'function', function: weather }] })
    expect(sent).not.toHaveProperty('functions')
    // Not forced: a provider filter on parameters the client sent must not see one it did not.
    expect(sent).not.toHaveProperty('parallel_tool_calls')
    const choice = ((await response.json()) as { choices: Array<{ message: Record<string, unknown>; finish_reason: string }> }).choices[0]!
    expect(choice.finish_reason).toBe('function_call')
    expect(choice.message.function_call).toStrictEqual({ name: 'get_weather', arguments: '{"city":"Oslo"}' })
    expect(choice.message).not.toHaveProperty('tool_calls')
  })

  it('continues a conversation with a function result on an Anthropic-format upstream, streaming the next call as function_call', async () => {
    const event = anthropicEvent
    const upstream = fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          event('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 90, output_tokens: 1 } } }),
          event('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: {} } }),
          event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":"Rome"}' } }),
          event('content_block_stop', { index: 0 }),
          event('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 15 } }),
          event('message_stop', {}),
        ]),
    })
    const response = await chat(tenant.key, {
      model: 'test/claude',
      stream: true,
      functions: [weather],
      messages: [
        { role: 'user', content: 'Weather in Oslo, then Rome?' },
        { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        { role: 'function', name: 'get_weather', content: '12C' },
      ],
    })
    expect(upstream.calls[0]!.body).toMatchObject({
      tools: [{ name: 'get_weather' }],
      messages: [
        { role: 'user' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'call_fn_1', name: 'get_weather', input: { city: 'Oslo' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_fn_1', content: '12C' }] },
      ],
    })
    const { data: chunks, done } = await readSse(response)
    expect(done).toBe(true)
    const deltas = chunks.flatMap((chunk) => (chunk.choices as Array<{ delta: Record<string, unknown> }>).map((choice) => choice.delta))
    expect(deltas.flatMap((delta) => (delta.function_call ? [delta.function_call] : []))).toStrictEqual([
      { name: 'get_weather', arguments: '' },
      { arguments: '{"city":"Rome"}' },
    ])
    expect(deltas.some((delta) => 'tool_calls' in delta)).toBe(false)
    expect(chunks.find((chunk) => (chunk.choices as Array<{ finish_reason: string | null }>)[0]?.finish_reason)).toMatchObject({ choices: [{ finish_reason: 'function_call', native_finish_reason: 'tool_use' }] })
  })

  it('answers a follow-up that sends the call history but no functions, which Anthropic needs declared', async () => {
    const upstream = fakeUpstreams({
      [BETA]: () =>
        jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [{ type: 'text', text: 'It is 12C.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 50, output_tokens: 5 } }),
    })
    const response = await chat(tenant.key, {
      model: 'test/claude',
      messages: [
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        { role: 'function', name: 'get_weather', content: '12C' },
      ],
    })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({ tools: [{ name: 'get_weather', input_schema: { type: 'object' } }], tool_choice: { type: 'none' } })
    expect(((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe('It is 12C.')
  })
})

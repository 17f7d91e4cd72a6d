import { describe, expect, it } from 'vitest'
import { BETA } from '../support/catalog'
import { chat, readSse, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, named, sseResponse } from '../support/upstream'

const tenant = setUpGateway()

const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]

const message = (content: object[], stop_reason: string, usage = { input_tokens: 100, output_tokens: 20 }) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-test',
  content,
  stop_reason,
  stop_sequence: null,
  usage,
})

describe('Anthropic-format upstreams', () => {
  it('receive a translated request: system, tools, tool results, stop sequences, max_tokens', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(message([{ type: 'text', text: 'Sunny' }], 'end_turn')) })
    const response = await chat(tenant.key, {
      model: 'test/claude',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: '12C and sunny' },
      ],
      tools,
      tool_choice: 'required',
      stop: ['END'],
      max_tokens: 300,
      temperature: 1.7,
    })
    expect(response.status).toBe(200)
    const sent = upstream.calls[0]!
    expect(sent.url).toBe(`${BETA}/messages`)
    expect(sent.headers.get('x-api-key')).toBe('test-upstream-key')
    expect(sent.headers.get('anthropic-version')).toBe('2023-06-01')
    expect(sent.body).toMatchObject({
      model: 'claude-test',
      max_tokens: 300,
      stop_sequences: ['END'],
      temperature: 1,
      stream: false,
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      tool_choice: { type: 'any' },
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '12C and sunny' }] },
      ],
    })
    expect(JSON.stringify(sent.body.system)).toContain('You are terse.')
  })

  it('answer in OpenAI shape with tool calls, finish reasons and cached-token usage priced exactly', async () => {
    fakeUpstreams({
      [BETA]: () =>
        jsonResponse(
          message([{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { city: 'Rome' } }], 'tool_use', {
            input_tokens: 1000,
            output_tokens: 100,
            cache_read_input_tokens: 2000,
            cache_creation_input_tokens: 0,
          } as never),
        ),
    })
    const response = await chat(tenant.key, { model: 'test/claude', messages: [{ role: 'user', content: 'Rome?' }], tools })
    const body = (await response.json()) as Record<string, any>
    expect(body).toMatchObject({
      provider: 'Beta',
      model: 'test/claude',
      choices: [
        {
          finish_reason: 'tool_calls',
          native_finish_reason: 'tool_use',
          message: {
            role: 'assistant',
            content: 'Checking.',
            refusal: null,
            tool_calls: [{ id: 'toolu_9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }],
          },
        },
      ],
      usage: { prompt_tokens: 3000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 2000 } },
    })
    // 3000 prompt tokens at $3/M (no cache price: cached at prompt price) + 100 at $15/M
    expect(body.usage.cost).toBe(0.0105)
  })

  it('stream Anthropic events as OpenAI chunks, ending with usage and [DONE]', async () => {
    fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          named('message_start', { type: 'message_start', message: { ...message([], null as never), usage: { input_tokens: 50, output_tokens: 1 } } }),
          named('ping', { type: 'ping' }),
          named('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
          named('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }),
          named('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } }),
          named('content_block_stop', { type: 'content_block_stop', index: 0 }),
          named('message_delta', { type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 2 } }),
          named('message_stop', { type: 'message_stop' }),
        ]),
    })
    const response = await chat(tenant.key, { model: 'test/claude', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    const { data: chunks, done } = await readSse(response)
    expect(done).toBe(true)
    const choices = chunks.map((c) => (c.choices as any[])[0])
    expect(choices[0].delta.role).toBe('assistant')
    expect(choices.map((c) => c?.delta?.content).filter(Boolean)).toEqual(['Hel', 'lo'])
    expect(choices.find((c) => c?.finish_reason)).toMatchObject({ finish_reason: 'length', native_finish_reason: 'max_tokens' })
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 50, completion_tokens: 2, cost: 0.00018 } })
  })

  it('report Anthropic\'s own reason when it is overloaded', async () => {
    fakeUpstreams({ [BETA]: () => jsonResponse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 529) })
    const response = await chat(tenant.key, { model: 'test/claude', messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(502)
    const body = (await response.json()) as { error: { metadata: { provider_name: string; message: string } } }
    expect(body.error.metadata).toMatchObject({ provider_name: 'Beta', message: 'Overloaded' })
  })
})

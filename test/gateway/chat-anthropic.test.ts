import { describe, expect, it, vi } from 'vitest'
import { BETA, GAMMA } from '../support/catalog'
import { chat, generationOf, readSse, setUpGateway } from '../support/gateway'
import { anthropicEvent, anthropicText, fakeUpstreams, jsonResponse, named, openaiStreamEvents, sseResponse } from '../support/upstream'

const tenant = setUpGateway()

const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]

/** The parts of OpenAI-shaped answers these tests read. */
interface Choice {
  delta: { reasoning?: string; reasoning_details?: object[]; tool_calls?: object[] }
  message: Record<string, unknown>
  finish_reason: string | null
}
const choicesOf = (chunk: Record<string, unknown>) => chunk.choices as Choice[]

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
  it('declares a tool whose parameters give no top-level type as an object schema (OpenAI takes {} and bare properties; Anthropic answers 400)', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicText('ok')) })
    const response = await chat(tenant.key, {
      model: 'test/claude',
      messages: [{ role: 'user', content: 'What time is it?' }],
      tools: [
        { type: 'function', function: { name: 'get_time', description: 'Current time', parameters: {} } },
        { type: 'function', function: { name: 'get_zone', parameters: { properties: { tz: { type: 'string' } } } } },
      ],
    })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.body.tools).toEqual([
      { name: 'get_time', description: 'Current time', input_schema: { type: 'object' } },
      { name: 'get_zone', input_schema: { type: 'object', properties: { tz: { type: 'string' } } } },
    ])
    const responses = await chat(tenant.key, { model: 'test/claude', input: 'What time is it?', tools: [{ type: 'function', name: 'get_time', parameters: {} }] }, '/v1/responses')
    expect(responses.status).toBe(200)
    expect(upstream.calls[1]!.body.tools).toEqual([{ name: 'get_time', input_schema: { type: 'object' } }])
  })

  it('charges the prompt Anthropic bills for the tools the gateway declares for a history of calls sent without tools', async () => {
    // Anthropic bills its tool-use system prompt (346 tokens with tool_choice "none") and the
    // definitions on every request that carries tools: here the gateway adds them itself.
    const upstream = fakeUpstreams({
      [BETA]: () =>
        jsonResponse({
          id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test',
          content: [{ type: 'text', text: 'Oslo weather' }], stop_reason: 'max_tokens', stop_sequence: null,
          usage: { input_tokens: 420, output_tokens: 5 },
        }),
    })
    const response = await chat(tenant.key, {
      model: 'test/claude',
      max_tokens: 5,
      messages: [
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: '12C and sunny' },
        { role: 'user', content: 'Title this chat.' },
      ],
    })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({ tools: [{ name: 'get_weather' }], tool_choice: { type: 'none' } })
    const body = (await response.json()) as { id: string; usage: { prompt_tokens: number; completion_tokens: number; cost: number } }
    expect(body.usage).toMatchObject({ prompt_tokens: 420, completion_tokens: 5 })
    // test/claude: $3/M prompt, $15/M completion: 420 × 0.000003 + 5 × 0.000015, not capped at the reservation's bound.
    expect(body.usage.cost).toBe(0.001335)
    await vi.waitFor(async () => expect(await generationOf(tenant.key, body.id)).toMatchObject({ total_cost: 0.001335 }))
  })

  it('charges the final output count message_delta gave when the stream is cut before message_stop', async () => {
    const start = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, usage: { input_tokens: 100, output_tokens: 1 } }
    fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          anthropicEvent('message_start', { message: start }),
          anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
          anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hello there' } }),
          anthropicEvent('content_block_stop', { index: 0 }),
          anthropicEvent('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 500 } }),
        ]),
    })
    const { data } = await readSse(await chat(tenant.key, { model: 'test/claude', stream: true, messages: [{ role: 'user', content: 'hi' }] }))
    expect(data.at(-1)!.usage).toMatchObject({ prompt_tokens: 100, completion_tokens: 500 })
    // test/claude: $3/M prompt, $15/M completion: 100 × $0.000003 + 500 × $0.000015.
    await vi.waitFor(async () => expect(await generationOf(tenant.key, data[0]!.id as string)).toMatchObject({ tokens_prompt: 100, tokens_completion: 500, total_cost: 0.0078 }))
  })

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

  it('answer usage without an output count with an estimate, never a zero charge for the output', async () => {
    const text = 'A reply long enough that its estimate is more than one token.'
    fakeUpstreams({ [BETA]: () => jsonResponse(message([{ type: 'text', text }], 'end_turn', { input_tokens: 100 } as never)) })
    const response = await chat(tenant.key, { model: 'test/claude', messages: [{ role: 'user', content: 'Say something.' }] })
    const body = (await response.json()) as { usage: { prompt_tokens: number; completion_tokens: number; cost: number } }
    expect(response.status).toBe(200)
    expect(body.usage.completion_tokens).toBeGreaterThan(5)
    expect(body.usage.cost).toBeGreaterThan((body.usage.prompt_tokens * 3) / 1e6)
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

  it('fail over when the stream reports overloaded_error after message_start, before any content', async () => {
    const upstream = fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          named('message_start', { type: 'message_start', message: { ...message([], null as never), usage: { input_tokens: 50, output_tokens: 1 } } }),
          named('ping', { type: 'ping' }),
          named('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
        ]),
      [GAMMA]: () => sseResponse(openaiStreamEvents(['from', ' gamma'])),
    })
    const response = await chat(tenant.key, { model: 'test/chat', stream: true, messages: [{ role: 'user', content: 'hi' }], provider: { order: ['beta', 'gamma'] } })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('gamma')
    const { data: chunks } = await readSse(response)
    expect(chunks.map((c) => (c.choices as any[])[0]?.delta?.content).filter(Boolean)).toEqual(['from', ' gamma'])
    expect(upstream.calls.map((call) => new URL(call.url).origin)).toEqual([new URL(BETA).origin, new URL(GAMMA).origin])
  })

  it('charge the input counted at message_start when the stream fails after its first token, not an estimate', async () => {
    const event = anthropicEvent
    fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          event('message_start', { message: { ...message([], null as never), usage: { input_tokens: 400, output_tokens: 1, cache_read_input_tokens: 2000 } } }),
          event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
          event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hallo there' } }),
          event('error', { error: { type: 'api_error', message: 'Internal server error' } }),
        ]),
    })
    const { data: chunks } = await readSse(await chat(tenant.key, { model: 'test/claude', stream: true, messages: [{ role: 'user', content: 'hi' }] }))
    expect(chunks.find((chunk) => chunk.error)).toMatchObject({ error: { message: 'Internal server error' } })
    // 2,400 counted prompt tokens at $3/M, and the 3 tokens relayed (11 characters) at $15/M.
    expect(chunks.at(-1)).toMatchObject({ usage: { prompt_tokens: 2400, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 2000 }, cost: 0.007245 } })
  })

  it('report Anthropic\'s own reason when it is overloaded', async () => {
    fakeUpstreams({ [BETA]: () => jsonResponse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 529) })
    const response = await chat(tenant.key, { model: 'test/claude', messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(502)
    const body = (await response.json()) as { error: { metadata: { provider_name: string; message: string } } }
    expect(body.error.metadata).toMatchObject({ provider_name: 'Beta', message: 'Overloaded', error_type: 'provider_overloaded' })
  })

  it('think with a budget and stream thinking, its signature and parallel tool calls as OpenAI chunks', async () => {
    const signature = 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pk'
    const event = anthropicEvent
    const upstream = fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          event('message_start', { message: { ...message([], null as never), usage: { input_tokens: 400, output_tokens: 3, cache_read_input_tokens: 2000, cache_creation_input_tokens: 100 } } }),
          event('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
          event('ping', {}),
          event('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'Both cities: ' } }),
          event('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'two calls.' } }),
          event('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature } }),
          event('content_block_stop', { index: 0 }),
          event('content_block_start', { index: 1, content_block: { type: 'text', text: '' } }),
          event('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'Checking.' } }),
          event('content_block_stop', { index: 1 }),
          event('content_block_start', { index: 2, content_block: { type: 'tool_use', id: 'toolu_P', name: 'get_weather', input: {} } }),
          event('content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '{"city":' } }),
          event('content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } }),
          event('content_block_stop', { index: 2 }),
          event('content_block_start', { index: 3, content_block: { type: 'tool_use', id: 'toolu_R', name: 'get_weather', input: {} } }),
          event('content_block_delta', { index: 3, delta: { type: 'input_json_delta', partial_json: '{"city":"Rome"}' } }),
          event('content_block_stop', { index: 3 }),
          event('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 180 } }),
          event('message_stop', {}),
        ]),
    })
    const response = await chat(tenant.key, {
      model: 'test/claude',
      stream: true,
      messages: [{ role: 'user', content: 'Weather in Paris and Rome?' }],
      tools,
      reasoning: { effort: 'high' },
      temperature: 0.4,
    })
    const sent = upstream.calls[0]!.body
    // No max_tokens from the client: the endpoint cap (4096), 80% of it for high effort.
    expect(sent).toMatchObject({ max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 3276 } })
    expect(sent).not.toHaveProperty('temperature')
    const { data: chunks, done } = await readSse(response)
    expect(done).toBe(true)
    const deltas = chunks.flatMap((chunk) => choicesOf(chunk).map((choice) => choice.delta))
    expect(deltas.map((delta) => delta.reasoning).filter(Boolean).join('')).toBe('Both cities: two calls.')
    expect(deltas.flatMap((delta) => delta.reasoning_details ?? [])).toStrictEqual([
      { type: 'reasoning.text', text: 'Both cities: ', format: 'anthropic-claude-v1', index: 0 },
      { type: 'reasoning.text', text: 'two calls.', format: 'anthropic-claude-v1', index: 0 },
      { type: 'reasoning.text', signature, format: 'anthropic-claude-v1', index: 0 },
    ])
    expect(deltas.flatMap((delta) => delta.tool_calls ?? [])).toStrictEqual([
      { index: 0, id: 'toolu_P', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 0, function: { arguments: '{"city":' } },
      { index: 0, function: { arguments: '"Paris"}' } },
      { index: 1, id: 'toolu_R', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 1, function: { arguments: '{"city":"Rome"}' } },
    ])
    expect(chunks.find((chunk) => choicesOf(chunk)[0]?.finish_reason)).toMatchObject({ choices: [{ finish_reason: 'tool_calls', native_finish_reason: 'tool_use' }] })
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 2500, completion_tokens: 180, prompt_tokens_details: { cached_tokens: 2000, cache_write_tokens: 100 } },
    })
  })

  it('stream a response_format answer as JSON only, though the model wrote text before calling the JSON tool', async () => {
    const event = anthropicEvent
    const upstream = fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          event('message_start', { message: message([], 'end_turn', { input_tokens: 50, output_tokens: 1 }) }),
          event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
          event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Here is the JSON:' } }),
          event('content_block_stop', { index: 0 }),
          event('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_J', name: 'json_response', input: {} } }),
          event('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":"Oslo"}' } }),
          event('content_block_stop', { index: 1 }),
          event('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 12 } }),
          event('message_stop', {}),
        ]),
    })
    // The client's own tools leave the JSON tool unforced, which is when a model may write first.
    const response = await chat(tenant.key, {
      model: 'test/claude',
      stream: true,
      messages: [{ role: 'user', content: 'Which city?' }],
      tools,
      response_format: { type: 'json_object' },
    })
    expect(upstream.calls[0]!.body).not.toHaveProperty('tool_choice')
    const { data: chunks, done } = await readSse(response)
    expect(done).toBe(true)
    const content = chunks.flatMap((chunk) => choicesOf(chunk).map((choice) => (choice.delta as { content?: string }).content ?? '')).join('')
    expect(JSON.parse(content)).toStrictEqual({ city: 'Oslo' })
    expect(chunks.find((chunk) => choicesOf(chunk)[0]?.finish_reason)).toMatchObject({ choices: [{ finish_reason: 'stop', native_finish_reason: 'tool_use' }] })
  })

  it('answer the first of two calls of the JSON tool, the same JSON streamed or not', async () => {
    const responseFormat = { type: 'json_schema', json_schema: { name: 'city', strict: true, schema: { type: 'object', properties: { city: { type: 'string' } } } } }
    const blocks = [
      { type: 'tool_use', id: 'toolu_1', name: 'json_response', input: { city: 'Oslo' } },
      { type: 'tool_use', id: 'toolu_2', name: 'json_response', input: { city: 'Rome' } },
    ]
    fakeUpstreams({ [BETA]: () => jsonResponse(message(blocks, 'tool_use')) })
    const plain = await chat(tenant.key, { model: 'test/claude', messages: [{ role: 'user', content: 'Which city?' }], response_format: responseFormat })
    const plainContent = ((await plain.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content
    expect(JSON.parse(plainContent)).toEqual({ city: 'Oslo' })
    const event = anthropicEvent
    fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          event('message_start', { message: message([], 'end_turn', { input_tokens: 100, output_tokens: 1 }) }),
          event('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'json_response', input: {} } }),
          event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":"Oslo"}' } }),
          event('content_block_stop', { index: 0 }),
          event('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_2', name: 'json_response', input: {} } }),
          event('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":"Rome"}' } }),
          event('content_block_stop', { index: 1 }),
          event('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } }),
          event('message_stop', {}),
        ]),
    })
    const streamed = await chat(tenant.key, { model: 'test/claude', stream: true, messages: [{ role: 'user', content: 'Which city?' }], response_format: responseFormat })
    const { data } = await readSse(streamed)
    const content = data.flatMap((chunk) => (chunk.choices as { delta: { content?: string } }[]).map((choice) => choice.delta.content ?? '')).join('')
    expect(content).toBe(plainContent)
  })

  it('charge a second call of the JSON tool, not shown, when the stream is cut before its usage', async () => {
    const long = JSON.stringify({ city: 'R'.repeat(4000) })
    const events = [
      anthropicEvent('message_start', { message: message([], 'end_turn', { input_tokens: 100, output_tokens: 1 }) }),
      anthropicEvent('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'json_response', input: {} } }),
      anthropicEvent('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":"Oslo"}' } }),
      anthropicEvent('content_block_stop', { index: 0 }),
      anthropicEvent('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_2', name: 'json_response', input: {} } }),
      anthropicEvent('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: long } }),
      anthropicEvent('content_block_stop', { index: 1 }),
    ]
    // The connection drops before message_delta: no final usage, the output is estimated.
    fakeUpstreams({ [BETA]: () => sseResponse(events, { failAfter: events.length }) })
    const response = await chat(tenant.key, { model: 'test/claude', stream: true, messages: [{ role: 'user', content: 'Which city?' }], response_format: { type: 'json_object' } })
    const { data } = await readSse(response)
    const content = data.flatMap((chunk) => (chunk.choices as { delta: { content?: string } }[]).map((choice) => choice.delta.content ?? '')).join('')
    expect(content).toBe('{"city":"Oslo"}')
    const id = data[0]!.id as string
    await vi.waitFor(async () => expect(await generationOf(tenant.key, id)).toMatchObject({ tokens_completion: expect.any(Number) }))
    // About 4,015 characters generated: about 1,000 tokens at four characters a token.
    expect(((await generationOf(tenant.key, id)) as { tokens_completion: number }).tokens_completion).toBeGreaterThanOrEqual(1000)
  })

  it('keep tool_choice "required" a call of the client’s tools beside response_format: no JSON tool is declared', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(message([{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }], 'tool_use')) })
    const response = await chat(tenant.key, { model: 'test/claude', messages: [{ role: 'user', content: 'Weather in Oslo?' }], tools, tool_choice: 'required', response_format: { type: 'json_object' } })
    const body = (await response.json()) as { choices: { finish_reason: string }[] }
    const sent = upstream.calls[0]!.body as { tools: { name: string }[]; tool_choice: unknown }
    expect(sent.tools.map((tool) => tool.name)).toEqual(['get_weather'])
    expect(sent.tool_choice).toEqual({ type: 'any' })
    expect(body.choices[0]!.finish_reason).toBe('tool_calls')
  })

  it('stream an empty-object response_format answer as "{}", as the non-streaming answer has it', async () => {
    const event = anthropicEvent
    fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          event('message_start', { message: message([], 'end_turn', { input_tokens: 50, output_tokens: 1 }) }),
          event('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_J', name: 'json_response', input: {} } }),
          event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '' } }),
          event('content_block_stop', { index: 0 }),
          event('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 3 } }),
          event('message_stop', {}),
        ]),
    })
    const response = await chat(tenant.key, { model: 'test/claude', stream: true, messages: [{ role: 'user', content: 'Hi' }], response_format: { type: 'json_object' } })
    const { data: chunks } = await readSse(response)
    const content = chunks.flatMap((chunk) => choicesOf(chunk).map((choice) => (choice.delta as { content?: string }).content ?? '')).join('')
    expect(content).toBe('{}')
  })

  it('replay the thinking blocks of a previous turn sent back in reasoning_details, so the tool loop keeps thinking', async () => {
    const first = message(
      [
        { type: 'thinking', thinking: 'Look it up.', signature: 'EqQBsig1' },
        { type: 'redacted_thinking', data: 'EmwKAhgBredacted' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
      ],
      'tool_use',
    )
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(upstream.calls.length === 1 ? first : message([{ type: 'text', text: 'Sunny, 12C.' }], 'end_turn')) })
    const request = { model: 'test/claude', tools, reasoning: { max_tokens: 2000 } }
    const question = { role: 'user', content: 'Weather in Oslo?' }
    const turn = (await (await chat(tenant.key, { ...request, messages: [question] })).json()) as Record<string, unknown>
    const assistant = choicesOf(turn)[0]!.message
    expect(assistant).toMatchObject({
      reasoning: 'Look it up.',
      reasoning_details: [
        { type: 'reasoning.text', text: 'Look it up.', signature: 'EqQBsig1', format: 'anthropic-claude-v1', index: 0 },
        { type: 'reasoning.encrypted', data: 'EmwKAhgBredacted', format: 'anthropic-claude-v1', index: 1 },
      ],
    })
    const second = await chat(tenant.key, { ...request, messages: [question, assistant, { role: 'tool', tool_call_id: 'toolu_1', content: '12C and sunny' }] })
    expect(second.status).toBe(200)
    expect(upstream.calls[1]!.body).toMatchObject({
      thinking: { type: 'enabled', budget_tokens: 2000 },
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }] },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Look it up.', signature: 'EqQBsig1' },
            { type: 'redacted_thinking', data: 'EmwKAhgBredacted' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '12C and sunny' }] },
      ],
    })
  })

  it('pass cache_control through on system, text, image, tool result and tool blocks, and top level', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(message([{ type: 'text', text: 'ok' }], 'end_turn')) })
    const ephemeral = { type: 'ephemeral' }
    await chat(tenant.key, {
      model: 'test/claude',
      cache_control: { type: 'ephemeral', ttl: '1h' },
      tools: [{ ...tools[0], cache_control: ephemeral }],
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Long rules.', cache_control: ephemeral }] },
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' }, cache_control: ephemeral },
            { type: 'text', text: 'A long document.', cache_control: { type: 'ephemeral', ttl: '1h' } },
          ],
        },
        { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: [{ type: 'text', text: 'A big result.', cache_control: ephemeral }] },
      ],
    })
    expect(upstream.calls[0]!.body).toMatchObject({
      cache_control: { type: 'ephemeral', ttl: '1h' },
      system: [{ type: 'text', text: 'Long rules.', cache_control: ephemeral }],
      tools: [{ name: 'get_weather', cache_control: ephemeral }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' }, cache_control: ephemeral },
            { type: 'text', text: 'A long document.', cache_control: { type: 'ephemeral', ttl: '1h' } },
          ],
        },
        { role: 'assistant' },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'A big result.', cache_control: ephemeral }] },
      ],
    })
  })

  it('say which stop sequence ended the answer', async () => {
    fakeUpstreams({ [BETA]: () => jsonResponse({ ...message([{ type: 'text', text: '1, 2, ' }], 'stop_sequence'), stop_sequence: '3' }) })
    const response = await chat(tenant.key, { model: 'test/claude', messages: [{ role: 'user', content: 'Count' }], stop: ['3', '4'] })
    const body = (await response.json()) as Record<string, unknown>
    expect(choicesOf(body)[0]).toMatchObject({ finish_reason: 'stop', native_finish_reason: 'stop_sequence', message: { content: '1, 2, ', stop_sequence: '3' } })
  })
})

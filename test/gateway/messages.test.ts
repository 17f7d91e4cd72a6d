import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { BETA, GAMMA, testCatalog } from '../support/catalog'
import { BASE, gatewayFetch, generationOf, installCatalog, namedEvents, setUpGateway } from '../support/gateway'
import { anthropicEvent, data, fakeUpstreams, jsonResponse, latch, openaiCompletion, sseResponse } from '../support/upstream'

const tenant = setUpGateway()

const tools = [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]
const ask = { model: 'test/other', max_tokens: 256, messages: [{ role: 'user', content: 'Weather in Oslo?' }] }

function messages(body: object, headers: Record<string, string> = { 'x-api-key': tenant.key }, path = '/v1/messages'): Promise<Response> {
  return gatewayFetch(path, { method: 'POST', headers: { 'anthropic-version': '2023-06-01', 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}

const readEvents = async (response: Response) => namedEvents(await response.text())

const names = (events: Record<string, any>[]) =>
  events.map((e) => (e.type === 'content_block_delta' ? `${e.type}:${e.delta.type}` : e.type === 'content_block_start' ? `${e.type}:${e.content_block.type}` : e.type))

const anthropicMessage = (content: object[], stop_reason: string, usage: object) => ({ id: 'msg_up', type: 'message', role: 'assistant', model: 'claude-test', content, stop_reason, stop_sequence: null, usage })

describe('POST /v1/messages, non-streaming', () => {
  it('serves an Anthropic client from an OpenAI-format upstream, both ways translated', async () => {
    const upstream = fakeUpstreams({
      [GAMMA]: () =>
        jsonResponse(
          openaiCompletion({
            content: 'Checking.',
            finish_reason: 'tool_calls',
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
            usage: { prompt_tokens: 1000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 400 } },
          }),
        ),
    })
    const response = await messages({
      ...ask,
      system: 'Be terse.',
      tools,
      tool_choice: { type: 'any' },
      stop_sequences: ['END'],
      temperature: 0.2,
      metadata: { user_id: 'u-7' },
    })
    expect(response.status).toBe(200)
    const sent = upstream.calls[0]!
    expect(sent.url).toBe(`${GAMMA}/chat/completions`)
    expect(sent.body).toEqual({
      model: 'gamma-other',
      messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Weather in Oslo?' }],
      max_tokens: 256,
      stream: false,
      stop: ['END'],
      temperature: 0.2,
      user: 'u-7',
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: tools[0]!.input_schema } }],
      tool_choice: 'required',
    })
    expect(await response.json()).toEqual({
      id: response.headers.get('x-generation-id'),
      type: 'message',
      role: 'assistant',
      model: 'test/other',
      provider: 'Gamma',
      content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Oslo' } }],
      stop_reason: 'tool_use',
      stop_sequence: null,
      // 1000 prompt tokens at $1/M + 100 completion tokens at $2/M
      usage: { input_tokens: 600, output_tokens: 100, cache_read_input_tokens: 400, cache_creation_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, cost: 0.0012 },
    })
  })

  it('round-trips through an Anthropic-format upstream with cache_control, tool results and cache usage', async () => {
    const usage = { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 900, cache_creation_input_tokens: 90 }
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicMessage([{ type: 'text', text: '12C.' }], 'end_turn', usage)) })
    const response = await messages({
      model: 'test/claude',
      max_tokens: 300,
      system: [{ type: 'text', text: 'Long rules', cache_control: { type: 'ephemeral' } }],
      tools,
      messages: [
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' }, cache_control: { type: 'ephemeral' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '12C', cache_control: { type: 'ephemeral' } }] },
      ],
    })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({
      model: 'claude-test',
      max_tokens: 300,
      system: [{ type: 'text', text: 'Long rules', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' }, cache_control: { type: 'ephemeral' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '12C', cache_control: { type: 'ephemeral' } }] },
      ],
    })
    expect(await response.json()).toMatchObject({
      model: 'test/claude',
      content: [{ type: 'text', text: '12C.' }],
      stop_reason: 'end_turn',
      usage,
    })
  })

  it("leaves out Claude Code's billing line, new on every request, so the provider's prompt cache sees the same prefix each turn", async () => {
    const billing = 'x-anthropic-billing-header: cc_version=2.1.177.01c; cc_entrypoint=cli; cch=36ee5;'
    const upstream = fakeUpstreams({
      [BETA]: () => jsonResponse(anthropicMessage([{ type: 'text', text: 'Hi' }], 'end_turn', { input_tokens: 3, output_tokens: 1 })),
      [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'Hi' })),
    })
    const blocks = [
      { type: 'text', text: billing },
      { type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } },
    ]
    expect((await messages({ model: 'test/claude', max_tokens: 64, system: blocks, messages: [{ role: 'user', content: 'Hi' }] })).status).toBe(200)
    expect(upstream.calls[0]!.body.system).toEqual([{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } }])
    // As one string (the SDK's other spelling), to an OpenAI-format upstream.
    expect((await messages({ ...ask, system: `${billing}\nYou are Claude Code.` })).status).toBe(200)
    expect(upstream.calls[1]!.body.messages).toEqual([
      { role: 'system', content: 'You are Claude Code.' },
      { role: 'user', content: 'Weather in Oslo?' },
    ])
    // A system prompt that only mentions such a line later is the client's, whole.
    const quoted = `Rules.\n${billing}`
    expect((await messages({ ...ask, system: quoted })).status).toBe(200)
    expect((upstream.calls[2]!.body.messages as unknown[])[0]).toEqual({ role: 'system', content: quoted })
  })

  it("gives Claude's signed thinking back, so a tool result sent with it keeps thinking on upstream", async () => {
    const thinkingOn = { thinking: { type: 'enabled', budget_tokens: 1024 } }
    const upstream = fakeUpstreams({
      [BETA]: () =>
        jsonResponse(
          anthropicMessage(
            [
              { type: 'thinking', thinking: 'Need the weather.', signature: 'sig-1' },
              { type: 'redacted_thinking', data: 'opaque' },
              { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
            ],
            'tool_use',
            { input_tokens: 30, output_tokens: 12 },
          ),
        ),
    })
    const first = await messages({ ...ask, model: 'test/claude', tools, ...thinkingOn })
    const answer = (await first.json()) as { content: object[] }
    expect(answer.content.slice(0, 2)).toEqual([
      { type: 'thinking', thinking: 'Need the weather.', signature: 'sig-1' },
      { type: 'redacted_thinking', data: 'opaque' },
    ])
    const toolResult = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny' }] }
    await messages({ ...ask, model: 'test/claude', tools, ...thinkingOn, messages: [...ask.messages, { role: 'assistant', content: answer.content }, toolResult] })
    const sent = upstream.calls[1]!.body as { thinking?: object; messages: Array<{ content: object[] }> }
    expect(sent.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 })
    expect(sent.messages[1]!.content).toEqual([
      { type: 'thinking', thinking: 'Need the weather.', signature: 'sig-1' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
    ])
  })

  it('gives interleaved thinking back to Claude where it stood: Anthropic refuses a latest turn whose thinking moved', async () => {
    const upstream = fakeUpstreams({
      [BETA]: () => jsonResponse(anthropicMessage([{ type: 'text', text: 'Done.' }], 'end_turn', { input_tokens: 9, output_tokens: 2 })),
      [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'Done.' })),
    })
    const turn = [
      { type: 'thinking', thinking: 'First I read a.', signature: 'sig-1' },
      { type: 'text', text: 'Reading a.' },
      { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: { city: 'a' } },
      { type: 'thinking', thinking: 'Now b.', signature: 'sig-2' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'text', text: 'Reading b.' },
      { type: 'tool_use', id: 'toolu_b', name: 'get_weather', input: { city: 'b' } },
    ]
    const history = [
      { role: 'user', content: 'Weather in a and b?' },
      { role: 'assistant', content: turn },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_a', content: 'A' }, { type: 'tool_result', tool_use_id: 'toolu_b', content: 'B' }] },
    ]
    const thinkingOn = { thinking: { type: 'enabled', budget_tokens: 1024 } }
    const response = await messages({ model: 'test/claude', max_tokens: 2048, tools, ...thinkingOn, messages: history }, { 'x-api-key': tenant.key, 'anthropic-beta': 'interleaved-thinking-2025-05-14' })
    expect(response.status).toBe(200)
    const sent = upstream.calls.at(-1)!.body as { thinking?: object; messages: Array<{ content: object[] }> }
    expect(sent.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 })
    expect(sent.messages[1]!.content).toEqual(turn)
    // An OpenAI-format upstream gets the turn as before: the order is Meridian's alone, never sent.
    expect((await messages({ ...ask, messages: history })).status).toBe(200)
    const openai = upstream.calls.at(-1)!.body as { messages: Array<Record<string, unknown>> }
    expect(JSON.stringify(openai)).not.toMatch(/blockOrder/)
    expect(openai.messages[1]).toMatchObject({ role: 'assistant', content: 'Reading a.\nReading b.', tool_calls: [{ id: 'toolu_a' }, { id: 'toolu_b' }] })
  })

  it('answers interleaved thinking in JSON in the order Claude gave it, which the client can send straight back', async () => {
    const interleaved = [
      { type: 'thinking', thinking: 'First a.', signature: 'sig-1' },
      { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: { city: 'a' } },
      { type: 'thinking', thinking: 'Now b.', signature: 'sig-2' },
      { type: 'text', text: 'Reading b.' },
      { type: 'tool_use', id: 'toolu_b', name: 'get_weather', input: { city: 'b' } },
    ]
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicMessage(interleaved, 'tool_use', { input_tokens: 9, output_tokens: 20 })) })
    const thinkingOn = { thinking: { type: 'enabled', budget_tokens: 1024 } }
    const first = await messages({ model: 'test/claude', max_tokens: 2048, tools, ...thinkingOn, messages: [{ role: 'user', content: 'a and b?' }] })
    const answer = (await first.json()) as { content: object[] }
    expect(answer.content).toEqual(interleaved)
    const results = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_a', content: 'A' }, { type: 'tool_result', tool_use_id: 'toolu_b', content: 'B' }] }
    await messages({ model: 'test/claude', max_tokens: 2048, tools, ...thinkingOn, messages: [{ role: 'user', content: 'a and b?' }, { role: 'assistant', content: answer.content }, results] })
    expect((upstream.calls[1]!.body as { messages: Array<{ content: object[] }> }).messages[1]!.content).toEqual(interleaved)
    // A chat completions client gets the answer as before.
    const chat = await gatewayFetch('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test/claude', messages: [{ role: 'user', content: 'a and b?' }], reasoning: { max_tokens: 1024 } }),
    })
    const message = ((await chat.json()) as { choices: { message: Record<string, unknown> }[] }).choices[0]!.message
    expect(message).toMatchObject({ content: 'Reading b.', tool_calls: [{ id: 'toolu_a' }, { id: 'toolu_b' }] })
  })

  it('hands a PDF document through to an Anthropic-format upstream (as Claude Code sends one)', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicMessage([{ type: 'text', text: 'A report.' }], 'end_turn', { input_tokens: 10, output_tokens: 3 })) })
    const pdf = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'report.pdf' }
    const response = await messages({ model: 'test/claude', max_tokens: 50, messages: [{ role: 'user', content: [pdf, { type: 'text', text: 'What is it?' }] }] })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({ messages: [{ role: 'user', content: [pdf, { type: 'text', text: 'What is it?' }] }] })
  })

  it('keeps images and documents inside a tool_result for an Anthropic-format upstream, and after the results for an OpenAI-format one', async () => {
    const upstream = fakeUpstreams({
      [BETA]: () => jsonResponse(anthropicMessage([{ type: 'text', text: 'Both read.' }], 'end_turn', { input_tokens: 10, output_tokens: 3 })),
      [GAMMA]: () => jsonResponse(openaiCompletion({})),
    })
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0=' } }
    const pdf = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'report.pdf' }
    const conversation = [
      { role: 'user', content: 'Read both files.' },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'chart.png' }, image] },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: [pdf], cache_control: { type: 'ephemeral' } },
          { type: 'text', text: 'Compare them.' },
        ],
      },
    ]
    expect((await messages({ model: 'test/claude', max_tokens: 50, tools, messages: conversation })).status).toBe(200)
    expect((upstream.calls[0]!.body.messages as unknown[])[2]).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'chart.png' }, image] },
        // The mark stays on the result: Anthropic refuses one inside tool_result.content.
        { type: 'tool_result', tool_use_id: 'toolu_2', content: [pdf], cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Compare them.' },
      ],
    })
    expect((await messages({ ...ask, tools, messages: conversation })).status).toBe(200)
    expect((upstream.calls[1]!.body.messages as unknown[]).slice(2)).toMatchObject([
      { role: 'tool', tool_call_id: 'toolu_1', content: 'chart.png' },
      { role: 'tool', tool_call_id: 'toolu_2', content: '' },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0=' } },
          { type: 'file', file: { filename: 'report.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
          { type: 'text', text: 'Compare them.' },
        ],
      },
    ])
  })

  it("carries output_config.effort without thinking to Claude as its effort, and to an OpenAI-format provider as OpenRouter's verbosity", async () => {
    await installCatalog({
      ...testCatalog,
      models: testCatalog.models.map((model) =>
        model.id === 'test/claude' ? { ...model, endpoints: model.endpoints.map((endpoint) => ({ ...endpoint, upstreamModel: 'claude-sonnet-4-6' })) } : model,
      ),
    })
    try {
      const upstream = fakeUpstreams({
        [BETA]: () => jsonResponse(anthropicMessage([{ type: 'text', text: 'Hi.' }], 'end_turn', { input_tokens: 5, output_tokens: 2 })),
        [GAMMA]: () => jsonResponse(openaiCompletion({})),
      })
      expect((await messages({ ...ask, model: 'test/claude', output_config: { effort: 'max' } })).status).toBe(200)
      expect((await messages({ ...ask, output_config: { effort: 'max' } })).status).toBe(200)
      expect(upstream.calls[0]!.body).toMatchObject({ model: 'claude-sonnet-4-6', output_config: { effort: 'max' } })
      expect(upstream.calls[0]!.body).not.toHaveProperty('thinking')
      expect(upstream.calls[1]!.body).toMatchObject({ model: 'gamma-other', verbosity: 'max' })
    } finally {
      await installCatalog()
    }
  })

  it('accepts Authorization: Bearer and /api/v1, and settles a generation record like chat completions', async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ usage: { prompt_tokens: 10, completion_tokens: 250 } })) })
    const response = await messages(ask, { authorization: `Bearer ${tenant.key}` }, '/api/v1/messages')
    expect(response.status).toBe(200)
    const id = response.headers.get('x-generation-id')!
    await vi.waitFor(async () => expect(await generationOf(tenant.key, id)).toMatchObject({ id, model: 'test/other', streamed: false, total_cost: 0.00051, finish_reason: 'stop' }))
  })
})

describe('POST /v1/messages errors, in Anthropic\'s shape', () => {
  const cases: Array<{ name: string; body: object; headers?: Record<string, string>; status: number; type: string; message: RegExp }> = [
    { name: 'no key', body: ask, headers: {}, status: 401, type: 'authentication_error', message: /Missing API key/ },
    { name: 'an unknown key', body: ask, headers: { 'x-api-key': 'sk-mer-nope' }, status: 401, type: 'authentication_error', message: /./ },
    { name: 'a missing max_tokens', body: { ...ask, max_tokens: undefined }, status: 400, type: 'invalid_request_error', message: /max_tokens/ },
    { name: 'an unknown model', body: { ...ask, model: 'nobody/nothing' }, status: 404, type: 'not_found_error', message: /nobody\/nothing/ },
  ]
  for (const { name, body, headers, status, type, message } of cases) {
    it(name, async () => {
      const response = await messages(body, headers)
      expect(response.status).toBe(status)
      const json = (await response.json()) as { type: string; error: { type: string; message: string } }
      expect(json.type).toBe('error')
      expect(json.error.type).toBe(type)
      expect(json.error.message).toMatch(message)
    })
  }

  it.each([
    ['POST', '/api/v1/messages/batches'],
    ['GET', '/v1/messages'],
  ])('a path or method not served (%s %s) is a 404', async (method, path) => {
    const response = await gatewayFetch(path, { method, headers: { 'x-api-key': tenant.key }, ...(method === 'POST' ? { body: JSON.stringify(ask) } : {}) })
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error', message: `No route for ${method} ${path}` } })
    // Other paths keep the OpenAI shape.
    const other = await gatewayFetch('/v1/nothing', { method })
    expect(await other.json()).toMatchObject({ error: { code: 404, message: `No route for ${method} /v1/nothing` } })
  })

  it('a provider failure keeps its reason in metadata, and chat completions keep the OpenAI shape', async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse({ error: { message: 'down' } }, 500) })
    const response = await messages(ask)
    expect(response.status).toBe(502)
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'api_error', message: 'Provider returned error', metadata: { provider_name: 'Gamma' } } })
    const chat = await gatewayFetch('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${tenant.key}` }, body: '{}' })
    expect(await chat.json()).toMatchObject({ error: { code: 400 } })
  })

  it("answers an overloaded provider as Anthropic does, a 529 overloaded_error, in JSON, in a stream before its first byte and after it", async () => {
    const overloaded = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }
    fakeUpstreams({ [BETA]: () => jsonResponse(overloaded, 529) })
    const response = await messages({ ...ask, model: 'test/claude' })
    expect(response.status).toBe(529)
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Provider returned error', metadata: { message: 'Overloaded' } } })
    // Its record keeps the status the client got.
    const id = response.headers.get('x-generation-id')!
    await vi.waitFor(async () => expect(await generationOf(tenant.key, id)).toMatchObject({ id, status: 'error', http_status: 529 }))

    const event = anthropicEvent
    // The stream says so after message_start, with HTTP 200: nothing reached the client yet.
    fakeUpstreams({
      [BETA]: () => sseResponse([event('message_start', { message: anthropicMessage([], null as never, { input_tokens: 5, output_tokens: 1 }) }), event('error', overloaded)]),
    })
    const early = await messages({ ...ask, model: 'test/claude', stream: true })
    expect(early.status).toBe(529)
    expect(await early.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } })

    fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          event('message_start', { message: anthropicMessage([], null as never, { input_tokens: 5, output_tokens: 1 }) }),
          event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
          event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hal' } }),
          event('error', overloaded),
        ]),
    })
    const events = await readEvents(await messages({ ...ask, model: 'test/claude', stream: true }))
    expect(names(events)).toEqual(['message_start', 'content_block_start:text', 'content_block_delta:text_delta', 'error'])
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } })
  })
})

describe('POST /v1/messages, streaming', () => {
  const chunk = (delta: object, finish: string | null = null) => data({ choices: [{ index: 0, delta, finish_reason: finish }] })

  it('turns OpenAI chunks with a tool call into Anthropic events', async () => {
    fakeUpstreams({
      [GAMMA]: () =>
        sseResponse([
          chunk({ role: 'assistant', content: '' }),
          chunk({ content: 'Let me check.' }),
          chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
          chunk({}, 'tool_calls'),
          data({ choices: [], usage: { prompt_tokens: 20, completion_tokens: 9 } }),
          'data: [DONE]\n\n',
        ]),
    })
    const response = await messages({ ...ask, stream: true, tools })
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const events = await readEvents(response)
    expect(names(events)).toEqual([
      'message_start',
      'content_block_start:text',
      'content_block_delta:text_delta',
      'content_block_stop',
      'content_block_start:tool_use',
      'content_block_delta:input_json_delta',
      'content_block_delta:input_json_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    expect(events[0]!.message).toMatchObject({ id: response.headers.get('x-generation-id'), model: 'test/other', content: [], stop_reason: null })
    expect(events[4]!.content_block).toEqual({ type: 'tool_use', id: 'call_1', name: 'get_weather', input: {} })
    expect(events.slice(5, 7).map((e) => e.delta.partial_json).join('')).toBe('{"city":"Oslo"}')
    expect(events[8]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 20, output_tokens: 9, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, cost: 0.000038 },
    })
  })

  it('gives each of parallel calls an OpenAI-format upstream interleaves a block of its own, its input whole before its stop', async () => {
    fakeUpstreams({
      [GAMMA]: () =>
        sseResponse([
          chunk({ role: 'assistant', content: null }),
          chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }] }),
          chunk({ tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
          chunk({ tool_calls: [{ index: 1, function: { arguments: '"Rome"}' } }] }),
          chunk({}, 'tool_calls'),
          data({ choices: [], usage: { prompt_tokens: 20, completion_tokens: 18 } }),
          'data: [DONE]\n\n',
        ]),
    })
    const events = await readEvents(await messages({ ...ask, stream: true, tools }))
    expect(names(events)).toEqual([
      'message_start',
      'content_block_start:tool_use',
      'content_block_delta:input_json_delta',
      'content_block_delta:input_json_delta',
      'content_block_stop',
      'content_block_start:tool_use',
      'content_block_delta:input_json_delta',
      'content_block_delta:input_json_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    const input = (index: number) => JSON.parse(events.filter((e) => e.type === 'content_block_delta' && e.index === index).map((e) => e.delta.partial_json).join(''))
    expect([events[1]!.content_block.id, input(0)]).toEqual(['call_1', { city: 'Oslo' }])
    expect([events[5]!.content_block.id, input(1)]).toEqual(['call_2', { city: 'Rome' }])
  })

  it('relays an Anthropic upstream\'s thinking, text and tool events', async () => {
    const event = anthropicEvent
    fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          event('message_start', { message: anthropicMessage([], null as never, { input_tokens: 50, output_tokens: 1, cache_read_input_tokens: 700 }) }),
          event('ping', {}),
          event('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }),
          event('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'Hmm.' } }),
          event('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'sig-hmm' } }),
          event('content_block_stop', { index: 0 }),
          event('content_block_start', { index: 1, content_block: { type: 'redacted_thinking', data: 'opaque' } }),
          event('content_block_stop', { index: 1 }),
          event('content_block_start', { index: 2, content_block: { type: 'tool_use', id: 'toolu_5', name: 'get_weather', input: {} } }),
          event('content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '{"city":"Rome"}' } }),
          event('content_block_stop', { index: 2 }),
          event('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 12 } }),
          event('message_stop', {}),
        ]),
    })
    const events = await readEvents(await messages({ ...ask, model: 'test/claude', stream: true, tools, thinking: { type: 'enabled', budget_tokens: 1024 } }))
    expect(names(events)).toEqual([
      'message_start',
      'content_block_start:thinking',
      'content_block_delta:thinking_delta',
      'content_block_delta:signature_delta',
      'content_block_stop',
      'content_block_start:redacted_thinking',
      'content_block_stop',
      'content_block_start:tool_use',
      'content_block_delta:input_json_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    // The signature lets the client send the thinking back with the tool result, as Anthropic requires.
    expect(events[3]!.delta).toEqual({ type: 'signature_delta', signature: 'sig-hmm' })
    expect(events[5]!.content_block).toEqual({ type: 'redacted_thinking', data: 'opaque' })
    expect(events[7]!.content_block).toMatchObject({ id: 'toolu_5', name: 'get_weather' })
    // message_start carries the upstream's own counts, as they came before the answer.
    expect(events[0]!.message.usage).toEqual({ input_tokens: 50, output_tokens: 1, cache_read_input_tokens: 700, cache_creation_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 } })
    expect(events[10]).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { input_tokens: 50, output_tokens: 12, cache_read_input_tokens: 700 } })
  })

  it('sends ping while the upstream is slow, and an error event when it fails after the first byte', async () => {
    const gate = latch()
    fakeUpstreams({ [GAMMA]: () => sseResponse([chunk({ content: 'par' }), chunk({ content: 'tial' })], { hold: gate.promise, failAfter: 1 }) })
    const ctx = createExecutionContext()
    const request = new Request(`${BASE}/v1/messages`, { method: 'POST', headers: { 'x-api-key': tenant.key }, body: JSON.stringify({ ...ask, stream: true }) })
    const response = await worker.fetch(request, { ...env, STREAM_KEEPALIVE_MS: '5' }, ctx)
    expect(response.status).toBe(200)
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('event: ping\ndata: {"type":"ping"}\n\n')
    gate.release()
    let rest = ''
    for (let read = await reader.read(); !read.done; read = await reader.read()) rest += new TextDecoder().decode(read.value)
    const events = namedEvents(rest).filter((e) => e.type !== 'ping')
    await waitOnExecutionContext(ctx)
    expect(names(events)).toEqual(['message_start', 'content_block_start:text', 'content_block_delta:text_delta', 'error'])
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { type: 'api_error', message: 'Upstream connection lost mid-stream' } })
  })
})

describe('POST /v1/messages, what an Anthropic upstream says is kept', () => {
  it('prices cache writes kept for an hour at their own rate, reserves for them, and breaks them down as Anthropic does', async () => {
    // test/claude: $3 per million prompt tokens, $15 completion; an hour's write defaults to twice the prompt's price.
    const usage = { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 0, cache_creation_input_tokens: 1000, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1000 } }
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicMessage([{ type: 'text', text: 'Read.' }], 'end_turn', usage)) })
    const long = { type: 'text', text: 'x'.repeat(1200), cache_control: { type: 'ephemeral', ttl: '1h' } }
    // max_tokens this low leaves a reservation priced at the five-minute rate below the hour's cost.
    const response = await messages({ ...ask, model: 'test/claude', max_tokens: 16, messages: [{ role: 'user', content: [long] }] })
    expect(upstream.calls[0]!.body).toMatchObject({ messages: [{ role: 'user', content: [{ cache_control: { type: 'ephemeral', ttl: '1h' } }] }] })
    const body = (await response.json()) as { usage: Record<string, unknown> }
    // 10 × $3/M + 1,000 × $6/M + 5 × $15/M
    expect(body.usage).toMatchObject({ cache_creation_input_tokens: 1000, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1000 }, cost: 0.006105 })
  })

  it('gives back the stop sequence that matched, of several, in JSON and in a stream', async () => {
    const stopped = { ...anthropicMessage([{ type: 'text', text: 'Done' }], 'stop_sequence', { input_tokens: 9, output_tokens: 2 }), stop_sequence: 'STOP' }
    fakeUpstreams({ [BETA]: () => jsonResponse(stopped) })
    const asked = { ...ask, model: 'test/claude', stop_sequences: ['END', 'STOP'] }
    expect(await (await messages(asked)).json()).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'STOP' })

    const event = anthropicEvent
    fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          event('message_start', { message: anthropicMessage([], null as never, { input_tokens: 9, output_tokens: 1 }) }),
          event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
          event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Done' } }),
          event('content_block_stop', { index: 0 }),
          event('message_delta', { delta: { stop_reason: 'stop_sequence', stop_sequence: 'STOP' }, usage: { output_tokens: 2 } }),
          event('message_stop', {}),
        ]),
    })
    const events = await readEvents(await messages({ ...asked, stream: true }))
    expect(events.find((e) => e.type === 'message_delta')).toMatchObject({ delta: { stop_reason: 'stop_sequence', stop_sequence: 'STOP' } })
  })

  it("passes a failed call's is_error on to an Anthropic-format upstream (strict OpenAI-format presets leave it out)", async () => {
    const answered = anthropicMessage([{ type: 'text', text: 'It failed.' }], 'end_turn', { input_tokens: 9, output_tokens: 2 })
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(answered), [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const history = [
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'service down', is_error: true }] },
    ]
    expect((await messages({ ...ask, model: 'test/claude', tools, messages: history })).status).toBe(200)
    expect((upstream.calls[0]!.body as { messages: { content: object[] }[] }).messages[2]!.content).toEqual([
      { type: 'tool_result', tool_use_id: 'toolu_1', content: 'service down', is_error: true },
    ])
  })

  it("serves output_config: the format as a forced JSON tool whose input comes back as the text, the effort as thinking's", async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }
    const answered = anthropicMessage([{ type: 'tool_use', id: 'toolu_j', name: 'json_response', input: { city: 'Oslo' } }], 'tool_use', { input_tokens: 9, output_tokens: 5 })
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(answered) })
    const response = await messages({ ...ask, model: 'test/claude', output_config: { format: { type: 'json_schema', schema } } })
    expect(await response.json()).toMatchObject({ content: [{ type: 'text', text: '{"city":"Oslo"}' }], stop_reason: 'end_turn' })
    expect(upstream.calls[0]!.body).toMatchObject({ tools: [{ name: 'json_response', input_schema: schema }], tool_choice: { type: 'tool', name: 'json_response', disable_parallel_tool_use: true } })

    const thought = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicMessage([{ type: 'text', text: 'Hi' }], 'end_turn', { input_tokens: 9, output_tokens: 2 })) })
    expect((await messages({ ...ask, model: 'test/claude', thinking: { type: 'adaptive' }, output_config: { effort: 'low' } })).status).toBe(200)
    // A budget model: the effort's share of max_tokens, at least Anthropic's minimum of 1,024.
    expect(thought.calls[0]!.body).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 1024 } })
    // Without thinking, an effort does not turn it on.
    expect((await messages({ ...ask, model: 'test/claude', output_config: { effort: 'low' } })).status).toBe(200)
    expect(thought.calls[1]!.body).not.toHaveProperty('thinking')
    // Thinking's display reaches Claude as sent; without one, the model's default stays.
    expect((await messages({ ...ask, max_tokens: 4096, model: 'test/claude', thinking: { type: 'enabled', budget_tokens: 2048, display: 'omitted' } })).status).toBe(200)
    expect(thought.calls[2]!.body).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2048, display: 'omitted' } })
    expect((await messages({ ...ask, max_tokens: 4096, model: 'test/claude', thinking: { type: 'enabled', budget_tokens: 2048 } })).status).toBe(200)
    expect((thought.calls[3]!.body as { thinking: object }).thinking).toStrictEqual({ type: 'enabled', budget_tokens: 2048 })
  })

  it("words a prompt too long as Anthropic does, which Claude Code compacts on, whoever refused it", async () => {
    const refusal = async (body: object) => ((await (await messages({ ...ask, model: 'test/claude', ...body })).json()) as { error: { type: string; message: string } }).error
    const huge = [{ role: 'user', content: 'x'.repeat(600_000) }]
    expect(await refusal({ messages: huge })).toMatchObject({ type: 'invalid_request_error', message: 'prompt is too long: 150000 tokens > 128000 maximum' })
    const near = [{ role: 'user', content: 'x'.repeat(500_000) }]
    expect((await refusal({ messages: near, max_tokens: 4_000 })).message).toBe(
      'input length and `max_tokens` exceed context limit: 125000 + 4000 > 128000, decrease input length or `max_tokens` and try again',
    )
    fakeUpstreams({ [GAMMA]: () => jsonResponse({ error: { message: "This model's maximum context length is 8192 tokens" } }, 400) })
    expect((await refusal({ model: 'test/other' })).message).toBe("prompt is too long: Gamma: This model's maximum context length is 8192 tokens")
  })

  it('names the generation in request-id, as the Anthropic SDK reads it', async () => {
    fakeUpstreams({ [BETA]: () => jsonResponse(anthropicMessage([{ type: 'text', text: 'Hi' }], 'end_turn', { input_tokens: 9, output_tokens: 2 })) })
    const response = await messages({ ...ask, model: 'test/claude' })
    expect(response.headers.get('request-id')).toMatch(/^gen-/)
    expect(response.headers.get('request-id')).toBe(response.headers.get('x-generation-id'))
  })
})

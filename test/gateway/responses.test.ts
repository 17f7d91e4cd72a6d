import { describe, expect, it, vi } from 'vitest'
import { GatewayError } from '../../src/errors'
import { ResponsesRequest } from '../../src/formats/responses/request'
import { reasoningDetails } from '../../src/formats/responses/reasoning-content'
import { createResponseStream } from '../../src/formats/responses/stream'
import { BETA, GAMMA } from '../support/catalog'
import { gatewayFetch, generationOf, namedEvents, setUpGateway } from '../support/gateway'
import { anthropicEvent, data, fakeUpstreams, jsonResponse, openaiCompletion, sseResponse } from '../support/upstream'

const tenant = setUpGateway()

const tools = [{ type: 'function', name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true }]
const ask = { model: 'test/other', input: 'Weather in Oslo?' }

function responses(body: object, headers: Record<string, string> = { authorization: `Bearer ${tenant.key}` }, path = '/v1/responses'): Promise<Response> {
  return gatewayFetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}

/** Typed SSE events, checking that each event's name is its payload's type and that they are numbered in order. */
async function readEvents(response: Response): Promise<Record<string, any>[]> {
  const text = await response.text()
  expect(text).not.toContain('[DONE]')
  const events = namedEvents(text)
  expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index))
  return events
}

const names = (events: Record<string, any>[]) => events.map((event) => event.type)

describe('POST /v1/responses, non-streaming', () => {
  it('serves a Responses client from an OpenAI-format upstream, both ways translated', async () => {
    const upstream = fakeUpstreams({
      [GAMMA]: () =>
        jsonResponse(
          openaiCompletion({
            content: 'Checking.',
            finish_reason: 'tool_calls',
            tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Bergen"}' } }],
            usage: { prompt_tokens: 1000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 400 }, completion_tokens_details: { reasoning_tokens: 20 } },
          }),
        ),
    })
    const schema = { type: 'object', properties: { answer: { type: 'string' } } }
    const response = await responses({
      model: 'test/other',
      instructions: 'Be terse.',
      input: [
        { role: 'user', content: 'Weather in Oslo?' },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Need the tool.' }], encrypted_content: 'opaque' },
        { type: 'message', role: 'assistant', id: 'msg_1', status: 'completed', content: [{ type: 'output_text', text: 'Checking.', annotations: [] }] },
        { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}', status: 'completed' },
        { type: 'function_call_output', call_id: 'call_1', output: '12C' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'And Bergen?' }, { type: 'input_image', image_url: 'https://img.test/map.png', detail: 'low' }] },
      ],
      tools,
      tool_choice: { type: 'function', name: 'get_weather' },
      text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } },
      max_output_tokens: 300,
      temperature: 0.2,
      metadata: { team: 'weather' },
      user: 'u-7',
      store: true,
      include: ['reasoning.encrypted_content'],
    })
    expect(response.status).toBe(200)
    const sent = upstream.calls[0]!
    expect(sent.url).toBe(`${GAMMA}/chat/completions`)
    expect(sent.body).toMatchObject({
      model: 'gamma-other',
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'Weather in Oslo?' },
        {
          role: 'assistant',
          content: 'Checking.',
          reasoning: 'Need the tool.',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '12C' },
        { role: 'user', content: [{ type: 'text', text: 'And Bergen?' }, { type: 'image_url', image_url: { url: 'https://img.test/map.png', detail: 'low' } }] },
      ],
      max_tokens: 300,
      temperature: 0.2,
      user: 'u-7',
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: tools[0]!.parameters, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
    })
    for (const field of ['input', 'instructions', 'max_output_tokens', 'text', 'metadata', 'store', 'include']) expect(sent.body).not.toHaveProperty(field)
    const id = response.headers.get('x-generation-id')!
    expect(await response.json()).toEqual({
      id,
      object: 'response',
      created_at: expect.any(Number),
      model: 'test/other',
      provider: 'Gamma',
      status: 'completed',
      completed_at: expect.any(Number),
      error: null,
      incomplete_details: null,
      instructions: 'Be terse.',
      max_output_tokens: 300,
      metadata: { team: 'weather' },
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: true,
      temperature: 0.2,
      text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } },
      tool_choice: { type: 'function', name: 'get_weather' },
      tools,
      top_p: null,
      frequency_penalty: null,
      presence_penalty: null,
      truncation: 'disabled',
      user: 'u-7',
      output: [
        { type: 'message', id: `msg_${id}_0`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.', annotations: [], logprobs: [] }] },
        { type: 'function_call', id: `fc_${id}_1`, call_id: 'call_2', name: 'get_weather', arguments: '{"city":"Bergen"}', status: 'completed' },
      ],
      // 1000 prompt tokens at $1/M + 100 completion tokens at $2/M
      usage: {
        input_tokens: 1000,
        input_tokens_details: { cached_tokens: 400, cache_write_tokens: 0 },
        output_tokens: 100,
        output_tokens_details: { reasoning_tokens: 20 },
        total_tokens: 1100,
        cost: 0.0012,
      },
    })
  })

  it('reads a reasoning item’s summary when its content is there but empty (as other issuers send it)', async () => {
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'ok' })) })
    const response = await responses({
      model: 'test/other',
      input: [
        { role: 'user', content: 'Hi' },
        { type: 'reasoning', id: 'rs_1', content: [], summary: [{ type: 'summary_text', text: 'Greet back.' }] },
        { type: 'message', role: 'assistant', id: 'msg_1', status: 'completed', content: [{ type: 'output_text', text: 'Hello.', annotations: [] }] },
        { role: 'user', content: 'Again' },
      ],
    })
    expect(response.status).toBe(200)
    expect((upstream.calls[0]!.body.messages as unknown[])[1]).toMatchObject({ role: 'assistant', content: 'Hello.', reasoning: 'Greet back.' })
  })

  it('answers from an Anthropic-format upstream, reasoning first, and passes the reasoning effort on', async () => {
    const upstream = fakeUpstreams({
      [BETA]: () =>
        jsonResponse({
          id: 'msg_up',
          type: 'message',
          role: 'assistant',
          model: 'claude-test',
          content: [{ type: 'thinking', thinking: 'Cold there.', signature: 's' }, { type: 'text', text: 'Bring a coat.' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 90 },
        }),
    })
    const response = await responses({ model: 'test/claude', input: 'Oslo in March?', reasoning: { effort: 'low' }, max_output_tokens: 2000 })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({ model: 'claude-test', messages: [{ role: 'user', content: [{ type: 'text', text: 'Oslo in March?' }] }], thinking: { type: 'enabled' } })
    // No summary asked for: Claude's thinking is omitted, as OpenAI gives none; asked for, summarized (this model's default).
    expect(upstream.calls[0]!.body).toMatchObject({ thinking: { display: 'omitted' } })
    expect((await responses({ model: 'test/claude', input: 'Oslo?', reasoning: { effort: 'low', summary: 'auto' }, max_output_tokens: 2000 })).status).toBe(200)
    expect(upstream.calls[1]!.body.thinking).not.toHaveProperty('display')
    const id = response.headers.get('x-generation-id')!
    expect(await response.json()).toMatchObject({
      status: 'completed',
      reasoning: { effort: 'low', summary: null },
      output: [
        { type: 'reasoning', id: `rs_${id}_0`, summary: [{ type: 'summary_text', text: 'Cold there.' }] },
        { type: 'message', id: `msg_${id}_1`, content: [{ type: 'output_text', text: 'Bring a coat.' }] },
      ],
      usage: { input_tokens: 100, input_tokens_details: { cached_tokens: 90 }, output_tokens: 5 },
    })
  })

  it('keeps max_output_tokens a bound on reasoning and answer together: Claude’s budget fits under it, or thinking is not sent', async () => {
    const answer = { id: 'msg_up', type: 'message', role: 'assistant', model: 'claude-test', content: [{ type: 'text', text: 'Coat.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 5 } }
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(answer), [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'Coat.' })) })
    expect((await responses({ model: 'test/claude', input: 'Oslo?', reasoning: { effort: 'high' }, max_output_tokens: 600 })).status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({ max_tokens: 600 })
    expect(upstream.calls[0]!.body).not.toHaveProperty('thinking')
    expect((await responses({ model: 'test/claude', input: 'Oslo?', reasoning: { effort: 'high' }, max_output_tokens: 3000 })).status).toBe(200)
    expect(upstream.calls[1]!.body).toMatchObject({ max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 2400 } })
    // The bound is Claude's to read: an OpenAI-format upstream takes max_output_tokens as its own bound and is not sent it.
    expect((await responses({ model: 'test/other', input: 'Oslo?', reasoning: { effort: 'high' }, max_output_tokens: 600 })).status).toBe(200)
    expect(upstream.calls[2]!.body).toMatchObject({ reasoning: { effort: 'high' } })
    expect(JSON.stringify(upstream.calls[2]!.body)).not.toContain('within_max_tokens')
  })

  it("gives Claude's signed and redacted thinking back as encrypted_content, which replays it with the tool result, statelessly or stored", async () => {
    const toolUse = { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }
    const thinking = [{ type: 'thinking', thinking: 'Need the weather.', signature: 'sig-1' }, { type: 'redacted_thinking', data: 'opaque' }]
    const answer = (content: object[], stop: string) => ({ id: 'msg_up', type: 'message', role: 'assistant', model: 'claude-test', content, stop_reason: stop, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 5 } })
    const upstream = fakeUpstreams({
      [BETA]: (call) => jsonResponse((call.body.messages as unknown[]).length === 1 ? answer([...thinking, toolUse], 'tool_use') : answer([{ type: 'text', text: '12C.' }], 'end_turn')),
    })
    const first = { model: 'test/claude', input: 'Weather in Oslo?', tools, reasoning: { effort: 'low' }, max_output_tokens: 4000 }
    const response = (await (await responses(first)).json()) as { id: string; output: Record<string, any>[] }
    const [reasoning, call] = response.output
    expect(reasoning).toMatchObject({ type: 'reasoning', summary: [{ type: 'summary_text', text: 'Need the weather.' }], encrypted_content: expect.stringMatching(/^meridian\.rd1\./) })
    expect(call).toMatchObject({ type: 'function_call', call_id: 'toolu_1' })

    // The thinking goes back at the head of the tool-use turn, signed, with thinking still on.
    const replayed = [{ type: 'thinking', thinking: 'Need the weather.', signature: 'sig-1' }, { type: 'redacted_thinking', data: 'opaque' }, toolUse]
    const output = { type: 'function_call_output', call_id: 'toolu_1', output: '12C' }
    expect((await responses({ ...first, store: false, input: [{ role: 'user', content: 'Weather in Oslo?' }, ...response.output, output] })).status).toBe(200)
    expect(upstream.calls[1]!.body).toMatchObject({ thinking: { type: 'enabled' }, messages: [{ role: 'user' }, { role: 'assistant', content: replayed }, { role: 'user' }] })
    expect((await responses({ ...first, previous_response_id: response.id, input: [output] })).status).toBe(200)
    expect(upstream.calls[2]!.body).toMatchObject({ thinking: { type: 'enabled' }, messages: [{ role: 'user' }, { role: 'assistant', content: replayed }, { role: 'user' }] })

    // Reasoning between an answer's text and its call goes with that turn.
    const text = { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] }
    expect((await responses({ ...first, store: false, input: [{ role: 'user', content: 'Weather in Oslo?' }, text, reasoning, call, output] })).status).toBe(200)
    expect(upstream.calls[3]!.body).toMatchObject({ messages: [{ role: 'user' }, { role: 'assistant', content: [...replayed.slice(0, 2), { type: 'text', text: 'Checking.' }, toolUse] }, { role: 'user' }] })

    // Another issuer's encrypted content is dropped: the turn goes without thinking blocks.
    const foreign = { ...reasoning, encrypted_content: 'gAAAAABfake' }
    expect((await responses({ ...first, store: false, input: [{ role: 'user', content: 'Weather in Oslo?' }, foreign, call, output] })).status).toBe(200)
    expect((upstream.calls[4]!.body.messages as { content: { type: string }[] }[])[1]!.content.map((block) => block.type)).toEqual(['tool_use'])
  })

  it("serves OpenAI's allowed_tools choice as the tools it allows and its mode", async () => {
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'Hi.' })) })
    const clock = { type: 'function', name: 'get_time', parameters: { type: 'object', properties: {} } }
    const choice = { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'get_time' }] }
    const response = await responses({ ...ask, tools: [...tools, clock], tool_choice: choice })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({ tools: [{ type: 'function', function: { name: 'get_time' } }], tool_choice: 'required' })
    expect((upstream.calls[0]!.body.tools as unknown[]).length).toBe(1)
    expect(await response.json()).toMatchObject({ tool_choice: choice })
  })

  it('says a cut-off answer is incomplete, and why', async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'It was a dark', finish_reason: 'length' })) })
    const response = await responses({ ...ask, max_output_tokens: 4 })
    expect(await response.json()).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      output: [{ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: 'It was a dark' }] }],
    })
  })

  it('carries function outputs with images as tool messages, the images opening the user message after the run of them', async () => {
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'A map.' })) })
    const response = await responses({
      model: 'test/other',
      input: [
        { role: 'user', content: 'Show both.' },
        { type: 'function_call', call_id: 'a', name: 'map', arguments: '{}' },
        { type: 'function_call', call_id: 'b', name: 'map', arguments: '' },
        { type: 'function_call_output', call_id: 'a', output: [{ type: 'input_text', text: 'map a' }, { type: 'input_image', image_url: 'data:image/png;base64,AAAA' }] },
        { type: 'function_call_output', call_id: 'b', output: 'map b' },
        { role: 'user', content: [{ type: 'input_file', filename: 'notes.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' }] },
      ],
    })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.body.messages).toEqual([
      { role: 'user', content: 'Show both.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'map', arguments: '{}' } },
          { id: 'b', type: 'function', function: { name: 'map', arguments: '' } },
        ],
      },
      { role: 'tool', tool_call_id: 'a', content: 'map a' },
      { role: 'tool', tool_call_id: 'b', content: 'map b' },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          { type: 'file', file: { filename: 'notes.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
        ],
      },
    ])
  })

  it('passes fields it does not read on, as chat completions do, and drops those with no chat meaning', async () => {
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'Hi.' })) })
    const response = await responses({
      ...ask,
      prompt_cache_key: 'thread-9',
      seed: 7,
      max_tokens: 50,
      safety_identifier: 'hashed-user',
      // Not passed on: no chat meaning, Responses-only (Codex sends client_metadata), or billed at prices the catalog lacks.
      top_logprobs: 2,
      max_tool_calls: 3,
      stream_options: { include_obfuscation: false },
      client_metadata: { session: 's' },
      context_management: [{ type: 'compaction' }],
      service_tier: 'priority',
      // A tool choice without tools: ignored by the Responses API, refused by chat upstreams.
      tool_choice: 'auto',
      parallel_tool_calls: true,
    })
    expect(response.status).toBe(200)
    const sent = upstream.calls[0]!.body
    expect(sent).toMatchObject({ prompt_cache_key: 'thread-9', seed: 7, max_tokens: 50, safety_identifier: 'hashed-user' })
    for (const field of ['top_logprobs', 'max_tool_calls', 'stream_options', 'client_metadata', 'context_management', 'service_tier', 'tool_choice', 'parallel_tool_calls']) {
      expect(sent).not.toHaveProperty(field)
    }
  })

  it('says an answer the provider ended with finish_reason "error" failed', async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'Part', finish_reason: 'error' })) })
    expect(await (await responses(ask)).json()).toMatchObject({ status: 'failed', error: { code: 'server_error' }, output: [{ type: 'message', status: 'incomplete' }] })
  })

  it('marks a call cut off by the length limit incomplete', async () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Os' } }
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: null, tool_calls: [call], finish_reason: 'length' })) })
    const response = await responses({ ...ask, tools })
    expect(await response.json()).toMatchObject({ status: 'incomplete', output: [{ type: 'function_call', status: 'incomplete', arguments: '{"city": "Os' }] })
  })

  it("takes the values the SDK's types allow: reasoning effort max, and an image's detail original (chat's nearest, high)", async () => {
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({})) })
    const image = { type: 'input_image', image_url: 'https://img.test/map.png', detail: 'original' }
    const response = await responses({ ...ask, input: [{ role: 'user', content: [image] }], reasoning: { effort: 'max' } })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({
      reasoning: { effort: 'max' },
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://img.test/map.png', detail: 'high' } }] }],
    })
  })

  it('settles a generation record under the response id, on /api/v1 too', async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ usage: { prompt_tokens: 10, completion_tokens: 250 } })) })
    const response = await responses(ask, undefined, '/api/v1/responses')
    expect(response.status).toBe(200)
    const { id } = (await response.json()) as { id: string }
    expect(id).toBe(response.headers.get('x-generation-id'))
    await vi.waitFor(async () => expect(await generationOf(tenant.key, id)).toMatchObject({ id, model: 'test/other', streamed: false, total_cost: 0.00051 }))
  })
})

describe('POST /v1/responses errors, in OpenAI\'s own shape', () => {
  type Case = { name: string; body: object; headers?: Record<string, string>; status: number; message: RegExp; code?: string | null; param?: string | null }
  const cases: Case[] = [
    { name: 'no key', body: ask, headers: {}, status: 401, message: /Missing API key/, code: 'invalid_api_key' },
    { name: 'an unknown model', body: { ...ask, model: 'nobody/nothing' }, status: 404, message: /nobody\/nothing/, code: 'model_not_found' },
    { name: 'a prompt longer than any endpoint takes', body: { ...ask, input: 'x'.repeat(600_000) }, status: 400, message: /maximum context length/, code: 'context_length_exceeded' },
    { name: 'no input', body: { model: 'test/other' }, status: 400, message: /input: must be a string or a list of items/, code: null, param: 'input' },
    { name: 'an empty input', body: { ...ask, input: [] }, status: 400, message: /input: must hold at least one item/, param: 'input' },
    { name: 'a null content', body: { ...ask, input: [{ role: 'user', content: null }] }, status: 400, message: /input\[0\]\.content: Invalid input: expected string or array/ },
    {
      name: 'a previous response not stored',
      body: { ...ask, previous_response_id: 'resp_1' },
      status: 400,
      message: /previous_response_id: Previous response with id 'resp_1' not found/,
      code: 'previous_response_not_found',
      param: 'previous_response_id',
    },
    { name: 'a conversation', body: { ...ask, conversation: 'conv_1' }, status: 400, message: /conversation is not supported/ },
    {
      name: 'an item_reference to no stored item',
      body: { ...ask, input: [{ role: 'user', content: 'Hi' }, { type: 'item_reference', id: 'msg_gen-1-nothing_0' }] },
      status: 400,
      message: /input\[1\]: Item with id 'msg_gen-1-nothing_0' not found/,
      param: 'input[1]',
    },
    { name: 'a built-in tool', body: { ...ask, tools: [{ type: 'web_search' }] }, status: 400, message: /tools\[0\].*only function and custom tools.*no built-in tools/ },
    { name: 'a local_shell tool', body: { ...ask, tools: [{ type: 'local_shell' }] }, status: 400, message: /tools\[0\].*does not yet translate local_shell tools/ },
    { name: 'an unknown item type', body: { ...ask, input: [{ type: 'computer_call_output', call_id: 'c' }] }, status: 400, message: /input\[0\].*no built-in tools/ },
    { name: 'an uploaded file', body: { ...ask, input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }] }, status: 400, message: /file_id is not supported/ },
    { name: 'an image with no URL', body: { ...ask, input: [{ role: 'user', content: [{ type: 'input_image', detail: 'low' }] }] }, status: 400, message: /input\[0\]\.content\[0\]: an input_image needs image_url/ },
    { name: 'an unknown truncation', body: { ...ask, truncation: 'middle' }, status: 400, message: /truncation/, param: 'truncation' },
    { name: 'a background run', body: { ...ask, background: true }, status: 400, message: /background responses are not supported/ },
    { name: 'a tool named twice', body: { ...ask, tools: [tools[0], tools[0]] }, status: 400, message: /tools\[1\]\.name: the tool name "get_weather" is given twice/ },
    { name: 'a choice of no tool', body: { ...ask, tools, tool_choice: { type: 'function', name: 'zzz' } }, status: 400, message: /tool_choice\.name: no tool named "zzz"/, param: 'tool_choice.name' },
    {
      name: 'an allowed_tools choice naming no tool',
      body: { ...ask, tools, tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'function', name: 'zzz' }] } },
      status: 400,
      message: /tool_choice\.tools\[0\]\.name: no tool named "zzz"/,
      param: 'tool_choice.tools[0].name',
    },
    { name: 'a required tool and none given', body: { ...ask, tool_choice: 'required' }, status: 400, message: /tool_choice: "required" needs at least one tool/ },
    {
      name: 'call arguments that are not a JSON object',
      body: { ...ask, input: [{ role: 'user', content: 'Hi' }, { type: 'function_call', call_id: 'a', name: 'f', arguments: '[1]' }, { type: 'function_call_output', call_id: 'a', output: 'x' }] },
      status: 400,
      message: /input\[1\]\.arguments: must be a JSON object/,
    },
    {
      name: 'an output of no call',
      body: { ...ask, input: [{ role: 'user', content: 'Hi' }, { type: 'function_call_output', call_id: 'ghost', output: 'x' }] },
      status: 400,
      message: /input\[1\]\.call_id: no function_call with call_id "ghost"/,
    },
    {
      name: 'a call the conversation goes on past without its output',
      body: { ...ask, input: [{ role: 'user', content: 'Hi' }, { type: 'function_call', call_id: 'a', name: 'f', arguments: '{}' }, { role: 'user', content: 'Well?' }] },
      status: 400,
      message: /input\[1\]: function_call "a" has no function_call_output/,
    },
    { name: 'a passed-through field of the wrong type', body: { ...ask, seed: 'x' }, status: 400, message: /seed: Invalid input: expected number/, param: 'seed' },
  ]
  for (const { name, body, headers, status, message, code, param } of cases) {
    it(name, async () => {
      const response = await responses(body, headers)
      const { error } = (await response.json()) as { error: { message: string; type: string; code: string | null; param: string | null } }
      expect([response.status, error.message]).toEqual([status, expect.stringMatching(message)])
      expect(error.message).toMatch(message)
      expect(error.type).toBe(status === 401 ? 'authentication_error' : 'invalid_request_error')
      if (code !== undefined) expect(error.code).toBe(code)
      if (param !== undefined) expect(error.param).toBe(param)
    })
  }

  it("passes on an OpenAI-format upstream's own code with its refusal, but not its param, which names a chat field", async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse({ error: { message: 'Invalid value for foo', type: 'invalid_request_error', param: 'foo', code: 'invalid_value' } }, 400) })
    const response = await responses(ask)
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: object }).error).toMatchObject({ message: expect.stringMatching(/Invalid value for foo/), param: null, code: 'invalid_value' })
  })

  it('echoes truncation "auto" (what it drops: context-length.test.ts)', async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'Hi.' })) })
    const response = await responses({ ...ask, truncation: 'auto' })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ truncation: 'auto', status: 'completed' })
  })

  it('a path not served (POST /v1/responses/{id}/cancel) is a 404 in the same shape, and chat completions keep theirs', async () => {
    const response = await gatewayFetch('/v1/responses/resp_1/cancel', { method: 'POST', headers: { authorization: `Bearer ${tenant.key}` } })
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'not_found', message: 'No route for POST /v1/responses/resp_1/cancel' } })
    const chat = await gatewayFetch('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${tenant.key}` }, body: '{}' })
    expect(await chat.json()).toMatchObject({ error: { code: 400 } })
  })
})

describe('POST /v1/responses, streaming', () => {
  const chunk = (delta: object, finish: string | null = null) => data({ choices: [{ index: 0, delta, finish_reason: finish }] })
  const usage = data({ choices: [], usage: { prompt_tokens: 20, completion_tokens: 9 } })

  it('continues a streamed turn whose parallel calls have text between them, its output sent back or by previous_response_id', async () => {
    const block = (index: number, content_block: object, delta: object) => [
      anthropicEvent('content_block_start', { index, content_block }),
      anthropicEvent('content_block_delta', { index, delta }),
      anthropicEvent('content_block_stop', { index }),
    ]
    const sent: Array<Record<string, any>> = []
    fakeUpstreams({
      [BETA]: (call) => {
        sent.push(call.body)
        if (sent.length > 1) return jsonResponse({ id: 'm2', type: 'message', role: 'assistant', model: 'claude-test', content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 2 } })
        return sseResponse([
          anthropicEvent('message_start', { message: { id: 'm1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
          ...block(0, { type: 'text', text: '' }, { type: 'text_delta', text: 'Oslo first. ' }),
          ...block(1, { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: {} }, { type: 'input_json_delta', partial_json: '{"city":"Oslo"}' }),
          ...block(2, { type: 'text', text: '' }, { type: 'text_delta', text: 'Then Rome.' }),
          ...block(3, { type: 'tool_use', id: 'toolu_b', name: 'get_weather', input: {} }, { type: 'input_json_delta', partial_json: '{"city":"Rome"}' }),
          anthropicEvent('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 40 } }),
          anthropicEvent('message_stop', {}),
        ])
      },
    })
    const final = (await readEvents(await responses({ model: 'test/claude', input: 'Weather?', tools, stream: true }))).at(-1)!.response
    expect(final.output.map((item: { type: string }) => item.type)).toEqual(['message', 'function_call', 'message', 'function_call'])
    const outputs = [
      { type: 'function_call_output', call_id: 'toolu_a', output: '5C' },
      { type: 'function_call_output', call_id: 'toolu_b', output: '20C' },
    ]
    const stateless = await responses({ model: 'test/claude', tools, store: false, input: [{ role: 'user', content: 'Weather?' }, ...final.output, ...outputs] })
    expect(stateless.status).toBe(200)
    const chained = await responses({ model: 'test/claude', tools, previous_response_id: final.id, input: outputs })
    expect(chained.status).toBe(200)
    // One assistant turn with its text and both calls, then both results.
    for (const body of sent.slice(1)) {
      expect(body.messages.slice(1).map((turn: { role: string; content: Array<{ type: string }> }) => [turn.role, turn.content.map((b) => b.type)])).toEqual([
        ['assistant', ['text', 'tool_use', 'tool_use']],
        ['user', ['tool_result', 'tool_result']],
      ])
    }
  })

  it('turns OpenAI chunks with reasoning, text and a tool call into typed events, ending with the whole response and its cost', async () => {
    fakeUpstreams({
      [GAMMA]: () =>
        sseResponse([
          chunk({ role: 'assistant', content: '' }),
          chunk({ reasoning: 'Think' }),
          chunk({ reasoning: 'ing.' }),
          chunk({ content: 'Let me ' }),
          chunk({ content: 'check.' }),
          chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
          chunk({}, 'tool_calls'),
          usage,
          'data: [DONE]\n\n',
        ]),
    })
    const response = await responses({ ...ask, stream: true, tools })
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const id = response.headers.get('x-generation-id')!
    const events = await readEvents(response)
    expect(names(events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ])
    expect(events[0]).toMatchObject({ response: { id, object: 'response', status: 'in_progress', completed_at: null, model: 'test/other', output: [], usage: null } })
    expect(events[4]).toMatchObject({ item_id: `rs_${id}_0`, output_index: 0, summary_index: 0, delta: 'Think' })
    expect(events[11]).toMatchObject({ item_id: `msg_${id}_1`, output_index: 1, content_index: 0, delta: 'Let me ' })
    expect(events[16]).toMatchObject({ output_index: 2, item: { type: 'function_call', id: `fc_${id}_2`, call_id: 'call_1', name: 'get_weather', arguments: '', status: 'in_progress' } })
    expect(events[19]).toMatchObject({ item_id: `fc_${id}_2`, arguments: '{"city":"Oslo"}', name: 'get_weather' })
    const output = [
      { type: 'reasoning', id: `rs_${id}_0`, summary: [{ type: 'summary_text', text: 'Thinking.' }] },
      { type: 'message', id: `msg_${id}_1`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Let me check.', annotations: [], logprobs: [] }] },
      { type: 'function_call', id: `fc_${id}_2`, call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}', status: 'completed' },
    ]
    expect(events.at(-1)).toMatchObject({
      // 20 prompt tokens at $1/M + 9 completion tokens at $2/M
      response: { id, status: 'completed', completed_at: expect.any(Number), error: null, output, usage: { input_tokens: 20, output_tokens: 9, total_tokens: 29, cost: 0.000038 }, store: true, tools },
    })
  })

  const toolCall = (index: number, id: string, args: string) => chunk({ tool_calls: [{ index, id, type: 'function', function: { name: 'get_weather', arguments: args } }] })
  const moreArguments = (index: number, args: string) => chunk({ tool_calls: [{ index, function: { arguments: args } }] })

  it('keeps one item open at a time: parallel calls follow each other, as at OpenAI', async () => {
    fakeUpstreams({
      [GAMMA]: () => sseResponse([toolCall(0, 'call_a', '{"city":'), moreArguments(0, '"Oslo"}'), toolCall(1, 'call_b', '{"city":"Rome"}'), chunk({}, 'tool_calls'), usage, 'data: [DONE]\n\n']),
    })
    const events = await readEvents(await responses({ ...ask, stream: true, tools }))
    let open: string | null = null
    for (const event of events) {
      if (event.type === 'response.output_item.added') {
        expect(open).toBeNull()
        open = event.item.id
      }
      if (event.type === 'response.output_item.done') open = null
    }
    expect(events.at(-1)!.response.output).toMatchObject([
      { type: 'function_call', call_id: 'call_a', arguments: '{"city":"Oslo"}', status: 'completed' },
      { type: 'function_call', call_id: 'call_b', arguments: '{"city":"Rome"}', status: 'completed' },
    ])
  })

  it('keeps a call open beside the next while its arguments are not whole, so that its done events carry them whole', async () => {
    fakeUpstreams({
      [GAMMA]: () =>
        sseResponse([toolCall(0, 'call_a', '{"city":'), toolCall(1, 'call_b', '{"city":'), moreArguments(1, '"Rome"}'), moreArguments(0, '"Oslo"}'), chunk({}, 'tool_calls'), usage, 'data: [DONE]\n\n']),
    })
    const events = await readEvents(await responses({ ...ask, stream: true, tools }))
    const done = new Set<string>()
    for (const event of events) {
      // Nothing reaches an item after it is done.
      if (typeof event.item_id === 'string') expect(done.has(event.item_id)).toBe(false)
      if (event.type === 'response.output_item.done') done.add(event.item.id)
    }
    expect(events.filter((event) => event.type === 'response.function_call_arguments.done').map((event) => event.arguments)).toEqual(['{"city":"Oslo"}', '{"city":"Rome"}'])
    expect(events.at(-1)!.response.output).toMatchObject([
      { type: 'function_call', call_id: 'call_a', arguments: '{"city":"Oslo"}', status: 'completed' },
      { type: 'function_call', call_id: 'call_b', arguments: '{"city":"Rome"}', status: 'completed' },
    ])
  })

  it('tells apart parallel calls an upstream numbers all 0 (as Ollama does) by their ids, and gives a call without arguments {}', async () => {
    fakeUpstreams({
      [GAMMA]: () => sseResponse([toolCall(0, 'call_a', '{"city":"Oslo"}'), toolCall(0, 'call_b', '{"city":"Rome"}'), toolCall(0, 'call_c', ''), chunk({}, 'tool_calls'), usage, 'data: [DONE]\n\n']),
    })
    const events = await readEvents(await responses({ ...ask, stream: true, tools }))
    expect(events.filter((event) => event.type === 'response.function_call_arguments.done').map((event) => event.arguments)).toEqual(['{"city":"Oslo"}', '{"city":"Rome"}', '{}'])
    expect(events.at(-1)!.response.output).toMatchObject([
      { type: 'function_call', call_id: 'call_a', arguments: '{"city":"Oslo"}' },
      { type: 'function_call', call_id: 'call_b', arguments: '{"city":"Rome"}' },
      { type: 'function_call', call_id: 'call_c', arguments: '{}' },
    ])
  })

  it('keeps a call that streamed no arguments open while text comes, and closes it with the {} that arrives at the finish', async () => {
    fakeUpstreams({ [GAMMA]: () => sseResponse([toolCall(0, 'call_t', ''), chunk({ content: 'Let me check.' }), chunk({}, 'tool_calls'), usage, 'data: [DONE]\n\n']) })
    const events = await readEvents(await responses({ ...ask, stream: true, tools }))
    const final = events.at(-1)!.response.output.find((item: { type: string }) => item.type === 'function_call')
    expect(final).toMatchObject({ call_id: 'call_t', arguments: '{}' })
    const itemDone = events.find((event) => event.type === 'response.output_item.done' && event.item.type === 'function_call')!
    expect(itemDone.item).toEqual(final)
    expect(events.filter((event) => event.type === 'response.function_call_arguments.done').map((event) => event.arguments)).toEqual(['{}'])
    // Nothing reaches the call after it is done.
    expect(events.slice(events.indexOf(itemDone)).some((event) => event.item_id === itemDone.item.id)).toBe(false)
  })

  it('answers an empty stream with one empty message, as the non-streaming response does', async () => {
    fakeUpstreams({ [GAMMA]: () => sseResponse([chunk({ role: 'assistant', content: '' }), chunk({}, 'stop'), usage, 'data: [DONE]\n\n']) })
    const events = await readEvents(await responses({ ...ask, stream: true }))
    expect(events.at(-1)!.response.output).toEqual([expect.objectContaining({ type: 'message', content: [{ type: 'output_text', text: '', annotations: [], logprobs: [] }] })])
  })

  it("streams Claude's thinking with its signature and a redacted block as one reasoning item, whose encrypted_content replays them", async () => {
    const event = anthropicEvent
    const toolUse = { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }
    const upstream = fakeUpstreams({
      [BETA]: (call) =>
        (call.body.messages as unknown[]).length > 1
          ? jsonResponse({ id: 'msg_2', type: 'message', role: 'assistant', model: 'claude-test', content: [{ type: 'text', text: '12C.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 2 } })
          : sseResponse([
              event('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
              event('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
              event('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'Need ' } }),
              event('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'the weather.' } }),
              event('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'sig-1' } }),
              event('content_block_stop', { index: 0 }),
              event('content_block_start', { index: 1, content_block: { type: 'redacted_thinking', data: 'opaque' } }),
              event('content_block_stop', { index: 1 }),
              event('content_block_start', { index: 2, content_block: toolUse }),
              event('content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '{"city":"Oslo"}' } }),
              event('content_block_stop', { index: 2 }),
              event('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 40 } }),
              event('message_stop', {}),
            ]),
    })
    const first = { model: 'test/claude', input: 'Weather in Oslo?', tools, reasoning: { effort: 'low' }, max_output_tokens: 4000, store: false }
    const events = await readEvents(await responses({ ...first, stream: true }))
    const done = events.filter((event) => event.type === 'response.output_item.done').map((event) => event.item)
    expect(done.map((item) => item.type)).toEqual(['reasoning', 'function_call'])
    expect(done[0]).toMatchObject({ summary: [{ type: 'summary_text', text: 'Need the weather.' }], encrypted_content: expect.stringMatching(/^meridian\.rd1\./) })
    const completed = events.at(-1)!
    expect(completed).toMatchObject({ type: 'response.completed', response: { output: done } })
    // The streamed fragments go as whole blocks; the redacted block's item events carry no summary part.
    expect(reasoningDetails(done[0].encrypted_content)).toEqual([
      { type: 'reasoning.text', text: 'Need the weather.', signature: 'sig-1', format: 'anthropic-claude-v1', index: 0 },
      { type: 'reasoning.encrypted', data: 'opaque', format: 'anthropic-claude-v1', index: 1 },
    ])
    expect(names(events).filter((name) => name.includes('reasoning_summary_part'))).toEqual(['response.reasoning_summary_part.added', 'response.reasoning_summary_part.done'])

    const output = { type: 'function_call_output', call_id: 'toolu_1', output: '12C' }
    expect((await responses({ ...first, input: [{ role: 'user', content: 'Weather in Oslo?' }, ...done, output] })).status).toBe(200)
    expect(upstream.calls[1]!.body).toMatchObject({
      thinking: { type: 'enabled' },
      messages: [
        { role: 'user' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'Need the weather.', signature: 'sig-1' }, { type: 'redacted_thinking', data: 'opaque' }, { ...toolUse, input: { city: 'Oslo' } }] },
        { role: 'user' },
      ],
    })
  })

  it('ends a cut-off stream with response.incomplete', async () => {
    fakeUpstreams({ [GAMMA]: () => sseResponse([chunk({ content: 'It was' }), chunk({}, 'length'), usage, 'data: [DONE]\n\n']) })
    const events = await readEvents(await responses({ ...ask, stream: true }))
    expect(events.at(-1)).toMatchObject({
      type: 'response.incomplete',
      response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [{ type: 'message', status: 'incomplete' }] },
    })
  })

  it('ends a stream whose upstream fails midway with response.failed, the reason and what was generated charged', async () => {
    fakeUpstreams({ [GAMMA]: () => sseResponse([chunk({ content: 'Half' }), chunk({ content: ' an answer' })], { failAfter: 2 }) })
    const events = await readEvents(await responses({ ...ask, stream: true }))
    const last = events.at(-1)!
    expect(last).toMatchObject({
      type: 'response.failed',
      response: {
        status: 'failed',
        error: { code: 'server_error', message: 'Upstream connection lost mid-stream', metadata: { provider_name: 'Gamma' } },
        output: [{ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: 'Half an answer' }] }],
      },
    })
    expect(last.response.usage.cost).toBeGreaterThan(0)
  })

  it('sends refusals as their own content part', async () => {
    fakeUpstreams({ [GAMMA]: () => sseResponse([chunk({ content: 'No: ' }), chunk({ refusal: 'I cannot help.' }), chunk({}, 'stop'), usage, 'data: [DONE]\n\n']) })
    const events = await readEvents(await responses({ ...ask, stream: true }))
    expect(names(events)).toContain('response.refusal.delta')
    expect(events.at(-1)!.response.output).toEqual([
      expect.objectContaining({ content: [{ type: 'output_text', text: 'No: ', annotations: [], logprobs: [] }, { type: 'refusal', refusal: 'I cannot help.' }] }),
    ])
  })
})

describe('custom (freeform) tools, as Codex sends apply_patch', () => {
  const grammar = 'start: begin_patch hunk+ end_patch'
  const applyPatch = { type: 'custom', name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', syntax: 'lark', definition: grammar } }
  const patch = '*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch'
  const patchCall = { id: 'call_p', type: 'function', function: { name: 'apply_patch', arguments: JSON.stringify({ input: patch }) } }

  it('offers one as a function of one string, and answers its call as a custom tool call with the text', async () => {
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: null, finish_reason: 'tool_calls', tool_calls: [patchCall] })) })
    const response = await responses({
      ...ask,
      input: [
        { role: 'user', content: 'Add a.txt' },
        { type: 'custom_tool_call', id: 'ctc_1', call_id: 'call_0', name: 'apply_patch', input: 'earlier patch' },
        { type: 'custom_tool_call_output', call_id: 'call_0', output: 'Done!' },
      ],
      tools: [...tools, applyPatch],
      tool_choice: { type: 'custom', name: 'apply_patch' },
    })
    const sent = upstream.calls[0]!.body as { tools: unknown[]; messages: unknown[]; tool_choice: unknown }
    expect(sent.tools[1]).toEqual({
      type: 'function',
      function: {
        name: 'apply_patch',
        description: `Edit files.\n\nThe input must follow this lark grammar:\n${grammar}`,
        parameters: { type: 'object', properties: { input: { type: 'string', description: "The tool's whole input, as plain text" } }, required: ['input'], additionalProperties: false },
      },
    })
    expect(sent.tool_choice).toEqual({ type: 'function', function: { name: 'apply_patch' } })
    expect(sent.messages.slice(1)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"earlier patch"}' } }] },
      { role: 'tool', tool_call_id: 'call_0', content: 'Done!' },
    ])
    const body = (await response.json()) as Record<string, any>
    expect(body.output).toEqual([{ type: 'custom_tool_call', id: `ctc_${body.id}_0`, call_id: 'call_p', name: 'apply_patch', input: patch, status: 'completed' }])
  })

  it('streams a custom tool call with its text in one delta as it closes, and keeps a function call beside it as it was', async () => {
    const chunk = (delta: object, finish: string | null = null) => data({ choices: [{ index: 0, delta, finish_reason: finish }] })
    const args = JSON.stringify({ input: patch })
    fakeUpstreams({
      [GAMMA]: () =>
        sseResponse([
          chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_p', type: 'function', function: { name: 'apply_patch', arguments: args.slice(0, 12) } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(12) } }] }),
          chunk({ tool_calls: [{ index: 1, id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] }),
          chunk({}, 'tool_calls'),
          'data: [DONE]\n\n',
        ]),
    })
    const events = await readEvents(await responses({ ...ask, stream: true, tools: [...tools, applyPatch] }))
    const id = events[0]!.response.id
    expect(names(events).slice(2, 6)).toEqual(['response.output_item.added', 'response.custom_tool_call_input.delta', 'response.custom_tool_call_input.done', 'response.output_item.done'])
    expect(events[2]).toMatchObject({ item: { type: 'custom_tool_call', id: `ctc_${id}_0`, call_id: 'call_p', name: 'apply_patch', input: '', status: 'in_progress' } })
    expect(events[3]).toMatchObject({ item_id: `ctc_${id}_0`, output_index: 0, delta: patch })
    expect(events[4]).toMatchObject({ item_id: `ctc_${id}_0`, input: patch })
    expect(events.at(-1)!.response.output).toEqual([
      { type: 'custom_tool_call', id: `ctc_${id}_0`, call_id: 'call_p', name: 'apply_patch', input: patch, status: 'completed' },
      { type: 'function_call', id: `fc_${id}_1`, call_id: 'call_w', name: 'get_weather', arguments: '{"city":"Oslo"}', status: 'completed' },
    ])
  })
})

describe('the Responses stream writer', () => {
  const meta = { id: 'gen-1-x', created: 1, model: 'test/other', provider: 'Meridian', systemFingerprint: 'meridian' }
  const writerFor = (request: object) => createResponseStream(meta, ResponsesRequest.parse(request), null)
  const decode = (messages: Uint8Array[]) => messages.map((bytes) => JSON.parse(new TextDecoder().decode(bytes).split('\ndata: ')[1]!) as Record<string, any>)

  it('closes a custom tool call that came with no input with none, the {} that arrives for it at the finish included', async () => {
    const writer = writerFor({ ...ask, tools: [{ type: 'custom', name: 'note' }] })
    const events = decode([
      ...writer.event({ type: 'delta', delta: { tool_calls: [{ index: 0, id: 'call_n', type: 'function', function: { name: 'note', arguments: '' } }] } }),
      ...writer.event({ type: 'delta', delta: { content: 'Noted.' } }),
      ...writer.event({ type: 'delta', delta: { tool_calls: [{ index: 0, function: { arguments: '{}' } }] } }),
      ...writer.event({ type: 'finish', finishReason: 'tool_calls', nativeFinishReason: 'tool_calls' }),
      ...(await writer.end(null, {})),
    ])
    expect(events.filter((event) => event.type === 'response.custom_tool_call_input.done').map((event) => event.input)).toEqual([''])
    expect(events.at(-1)!.response.output[0]).toMatchObject({ type: 'custom_tool_call', call_id: 'call_n', input: '' })
  })

  it('keeps a call open while text streams until its late arguments are whole, so that an SDK snapshot ends with them', async () => {
    const writer = writerFor({ ...ask, tools })
    const args = (value: string, id?: string) => ({ index: 0, ...(id ? { id, type: 'function' as const } : {}), function: { ...(id ? { name: 'get_weather' } : {}), arguments: value } })
    const events = decode([
      ...writer.event({ type: 'delta', delta: { tool_calls: [args('', 'call_l')] } }),
      ...writer.event({ type: 'delta', delta: { content: 'Checking.' } }),
      ...writer.event({ type: 'delta', delta: { tool_calls: [args('{"city":')] } }),
      ...writer.event({ type: 'delta', delta: { tool_calls: [args('"Oslo"}')] } }),
      ...writer.event({ type: 'finish', finishReason: 'tool_calls', nativeFinishReason: 'tool_calls' }),
      ...(await writer.end(null, {})),
    ])
    const final = events.at(-1)!.response.output.find((item: { type: string }) => item.type === 'function_call')
    expect(final.arguments).toBe('{"city":"Oslo"}')
    // openai-node's ResponseAccumulator: output_item.done replaces the item, each later arguments delta is appended to it.
    let snapshot = ''
    for (const event of events) {
      if (event.type === 'response.output_item.done' && event.item.id === final.id) snapshot = event.item.arguments
      else if (event.type === 'response.function_call_arguments.done' && event.item_id === final.id) snapshot = event.arguments
      else if (event.type === 'response.function_call_arguments.delta' && event.item_id === final.id) snapshot += event.delta
    }
    expect(snapshot).toBe(final.arguments)
  })

  it('sends nothing for whitespace that comes for a call after its output_item.done, so the done item is the final one', async () => {
    const writer = writerFor({ ...ask, tools })
    const events = decode([
      ...writer.event({ type: 'delta', delta: { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] } }),
      ...writer.event({ type: 'delta', delta: { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Bergen"}' } }] } }),
      ...writer.event({ type: 'delta', delta: { tool_calls: [{ index: 0, function: { arguments: '\n' } }] } }),
      ...writer.event({ type: 'finish', finishReason: 'tool_calls', nativeFinishReason: 'tool_calls' }),
      ...(await writer.end(null, {})),
    ])
    const done = events.find((event) => event.type === 'response.output_item.done' && event.item.call_id === 'call_a')!
    expect(events.slice(events.indexOf(done) + 1).filter((event) => event.item_id === done.item.id)).toEqual([])
    expect(events.at(-1)!.response.output[0]).toEqual(done.item)
  })

  it('gives a call that only ever got whitespace {} when the response ends', async () => {
    const writer = writerFor({ ...ask, tools })
    const events = decode([
      ...writer.event({ type: 'delta', delta: { tool_calls: [{ index: 0, id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '' } }] } }),
      ...writer.event({ type: 'delta', delta: { content: 'Checking.' } }),
      ...writer.event({ type: 'delta', delta: { tool_calls: [{ index: 0, function: { arguments: ' ' } }] } }),
      ...writer.event({ type: 'finish', finishReason: 'tool_calls', nativeFinishReason: 'tool_calls' }),
      ...(await writer.end(null, {})),
    ])
    const final = events.at(-1)!.response.output.find((item: { type: string }) => item.type === 'function_call')
    expect(final.arguments).toBe('{}')
    expect(events.filter((event) => event.type === 'response.function_call_arguments.done').map((event) => event.arguments)).toEqual(['{}'])
  })

  it('opens a reasoning item for a signature alone (Gemini sends it with the call), with no summary part', async () => {
    const writer = writerFor({ ...ask, tools })
    const signature = { type: 'reasoning.encrypted', id: 'call_1', data: 'sig', format: 'google-gemini-v1', index: 0 }
    const call = { index: 0, id: 'call_1', type: 'function' as const, function: { name: 'get_weather', arguments: '{}' } }
    const events = decode([
      ...writer.event({ type: 'delta', delta: { content: 'Checking.' } }),
      ...writer.event({ type: 'delta', delta: { tool_calls: [call], reasoning_details: [signature] } }),
      ...(await writer.end(null, {})),
    ])
    const items = events.filter((event) => event.type === 'response.output_item.done').map((event) => event.item)
    expect(items.map((item) => item.type)).toEqual(['message', 'reasoning', 'function_call'])
    expect(items[1]).toEqual({ type: 'reasoning', id: 'rs_gen-1-x_1', summary: [], encrypted_content: expect.any(String) })
    expect(reasoningDetails(items[1].encrypted_content)).toEqual([signature])
    expect(names(events).some((name) => name.startsWith('response.reasoning_summary'))).toBe(false)
  })

  it('fails a stream whose providers all refused a prompt too long with the code Codex compacts on', async () => {
    const writer = writerFor(ask)
    const tooLong = new GatewayError(400, 'context_length_exceeded', "This model's maximum context length is 8 tokens.")
    const events = decode([...writer.error(tooLong), ...(await writer.end(null, {}))])
    expect(events.map((event) => event.type)).toEqual(['response.created', 'response.in_progress', 'response.failed'])
    expect(events[2]).toMatchObject({ response: { status: 'failed', error: { code: 'context_length_exceeded' }, output: [], usage: null } })
  })
})

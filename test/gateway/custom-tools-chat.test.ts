import { describe, expect, it, vi } from 'vitest'
import { customCallDeltas } from '../../src/formats/openai/custom-tool-stream'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { chat, readSse, setUpGateway } from '../support/gateway'
import { anthropicEvent, anthropicText, data, fakeUpstreams, jsonResponse, openaiCompletion, sseResponse } from '../support/upstream'

const tenant = setUpGateway()

const grammar = 'start: "*** Begin Patch" /(.|\\n)*/ "*** End Patch"'
const applyPatch = { type: 'custom', custom: { name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', grammar: { syntax: 'lark', definition: grammar } } } }
const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }
const patch = '*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch'
const ask = [{ role: 'user', content: 'Add a.txt' }]

/** An OpenAI-format chunk of the upstream's stream. */
const chunk = (delta: object, finish: string | null = null, extra: object = {}) =>
  data({ id: 'chatcmpl-up', object: 'chat.completion.chunk', created: 1, model: 'up', choices: [{ index: 0, delta, finish_reason: finish, ...extra }] })

type Chunk = { choices: Array<{ delta: { tool_calls?: Array<Record<string, unknown>> }; finish_reason: string | null }> }
const errorMessage = async (response: Response) => ((await response.json()) as { error: { message: string } }).error.message
const toolCallDeltas = (chunks: Record<string, unknown>[]) => (chunks as Chunk[]).flatMap((c) => c.choices.flatMap((choice) => choice.delta?.tool_calls ?? []))

describe('custom (freeform) tools on chat completions', () => {
  it('offers one as a function of one string with its grammar, chosen as that function, and answers its call in the custom shape', async () => {
    const upstream = fakeUpstreams({
      [GAMMA]: () =>
        jsonResponse(
          openaiCompletion({
            content: null,
            finish_reason: 'tool_calls',
            tool_calls: [
              { id: 'call_p', type: 'function', function: { name: 'apply_patch', arguments: JSON.stringify({ input: patch }) } },
              { id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
            ],
          }),
        ),
    })
    const response = await chat(tenant.key, { model: 'test/other', messages: ask, tools: [applyPatch, weather], tool_choice: { type: 'custom', custom: { name: 'apply_patch' } } })
    expect(response.status).toBe(200)
    const sent = upstream.calls[0]!.body as { tools: Array<{ type: string; function: { name: string; description: string; parameters: object } }>; tool_choice: unknown }
    expect(sent.tools[0]).toMatchObject({
      type: 'function',
      function: { name: 'apply_patch', parameters: { type: 'object', properties: { input: { type: 'string' } }, required: ['input'] } },
    })
    expect(sent.tools[0]!.function.description).toContain('Edit files.')
    expect(sent.tools[0]!.function.description).toContain(`lark grammar:\n${grammar}`)
    expect(sent.tools[1]).toStrictEqual(weather)
    expect(sent.tool_choice).toStrictEqual({ type: 'function', function: { name: 'apply_patch' } })
    const choice = ((await response.json()) as { choices: Array<{ finish_reason: string; message: { tool_calls: unknown[] } }> }).choices[0]!
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.tool_calls).toStrictEqual([
      { id: 'call_p', type: 'custom', custom: { name: 'apply_patch', input: patch } },
      { id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
    ])
  })

  it('gives a custom call back to an Anthropic-format provider as a tool use of its function, with its result', async () => {
    const upstream = fakeUpstreams({
      [BETA]: () =>
        jsonResponse(anthropicText('Done.')),
    })
    const response = await chat(tenant.key, {
      model: 'test/claude',
      tools: [applyPatch],
      messages: [
        ...ask,
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_p', type: 'custom', custom: { name: 'apply_patch', input: patch } }] },
        { role: 'tool', tool_call_id: 'call_p', content: 'Applied.' },
      ],
    })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({
      tools: [{ name: 'apply_patch', input_schema: { properties: { input: { type: 'string' } } } }],
      messages: [
        { role: 'user' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'call_p', name: 'apply_patch', input: { input: patch } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_p', content: 'Applied.' }] },
      ],
    })
  })

  it('streams a custom call from Anthropic in one delta once its input is whole, beside a function call streamed as it comes', async () => {
    const event = anthropicEvent
    const input = JSON.stringify({ input: patch })
    fakeUpstreams({
      [BETA]: () =>
        sseResponse([
          event('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 50, output_tokens: 1 } } }),
          event('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_p', name: 'apply_patch', input: {} } }),
          event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: input.slice(0, 20) } }),
          event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: input.slice(20) } }),
          event('content_block_stop', { index: 0 }),
          event('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_w', name: 'get_weather', input: {} } }),
          event('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":' } }),
          event('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '"Oslo"}' } }),
          event('content_block_stop', { index: 1 }),
          event('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 30 } }),
          event('message_stop', {}),
        ]),
    })
    const response = await chat(tenant.key, { model: 'test/claude', stream: true, messages: ask, tools: [applyPatch, weather] })
    expect(response.status).toBe(200)
    const { data: chunks, done } = await readSse(response)
    expect(done).toBe(true)
    const calls = toolCallDeltas(chunks)
    const custom = calls.filter((call) => call.index === 0)
    expect(custom).toStrictEqual([{ index: 0, id: 'toolu_p', type: 'custom', custom: { name: 'apply_patch', input: patch } }])
    const fn = calls.filter((call) => call.index === 1)
    expect(fn[0]).toMatchObject({ index: 1, id: 'toolu_w', type: 'function', function: { name: 'get_weather' } })
    expect(fn.map((call) => (call.function as { arguments?: string }).arguments ?? '').join('')).toBe('{"city":"Oslo"}')
    // The custom call went out before the function call's first fragment.
    expect(calls.indexOf(custom[0]!)).toBeLessThan(calls.indexOf(fn[0]!))
    expect((chunks as Chunk[]).find((c) => c.choices[0]?.finish_reason)!.choices[0]!.finish_reason).toBe('tool_calls')
  })

  it('sends a custom call whose arguments never became whole JSON at the finish, with the role first if nothing came before', async () => {
    fakeUpstreams({
      [ALPHA]: () =>
        sseResponse([
          chunk({ tool_calls: [{ index: 0, id: 'call_p', type: 'function', function: { name: 'apply_patch', arguments: '' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '{"input": "*** Begin' } }] }),
          chunk({}, 'tool_calls'),
          'data: [DONE]\n\n',
        ]),
    })
    const response = await chat(tenant.key, { model: 'test/chat', stream: true, messages: ask, tools: [applyPatch] })
    const { data: chunks } = await readSse(response)
    const deltas = (chunks as Chunk[]).flatMap((c) => c.choices.map((choice) => choice.delta)).filter((delta) => delta && Object.keys(delta).length)
    expect(deltas).toStrictEqual([
      { role: 'assistant', tool_calls: [{ index: 0, id: 'call_p', type: 'custom', custom: { name: 'apply_patch', input: '{"input": "*** Begin' } }] },
    ])
  })

  it('serves a custom call made with no arguments as empty input, and text beside it untouched', async () => {
    fakeUpstreams({
      [ALPHA]: () =>
        sseResponse([
          chunk({ role: 'assistant', content: 'Patching.' }),
          chunk({ tool_calls: [{ index: 0, id: 'call_p', type: 'function', function: { name: 'apply_patch', arguments: '' } }] }),
          chunk({}, 'tool_calls'),
          'data: [DONE]\n\n',
        ]),
    })
    const { data: chunks } = await readSse(await chat(tenant.key, { model: 'test/chat', stream: true, messages: ask, tools: [applyPatch] }))
    const deltas = (chunks as Chunk[]).flatMap((c) => c.choices.map((choice) => choice.delta)).filter((delta) => delta && Object.keys(delta).length)
    expect(deltas).toStrictEqual([
      { role: 'assistant', content: 'Patching.' },
      { tool_calls: [{ index: 0, id: 'call_p', type: 'custom', custom: { name: 'apply_patch', input: '' } }] },
    ])
  })

  it('serves allowed_tools naming a custom tool, and refuses one naming no tool', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'Hi' })) })
    const allowed = (name: string) => ({ type: 'allowed_tools', allowed_tools: { mode: 'required', tools: [{ type: 'custom', custom: { name } }] } })
    const asked = { model: 'test/chat', messages: ask, tools: [applyPatch, weather] }
    expect((await chat(tenant.key, { ...asked, tool_choice: allowed('apply_patch') })).status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({ tools: [{ type: 'function', function: { name: 'apply_patch' } }], tool_choice: 'required' })
    expect((upstream.calls[0]!.body as { tools: unknown[] }).tools).toHaveLength(1)
    const refused = await chat(tenant.key, { ...asked, tool_choice: allowed('nothing') })
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
      'Invalid request: tool_choice.allowed_tools.tools[0].custom.name: no custom tool named "nothing" in tools',
    )
  })

  it('refuses a malformed custom tool or call with a 400 naming the field', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'Hi' })) })
    const cases = [
      { body: { model: 'test/chat', messages: ask, tools: [{ type: 'custom', custom: { description: 'no name' } }] }, field: 'tools[0]' },
      { body: { model: 'test/chat', messages: ask, tools: [{ type: 'custom', custom: { name: 'bad name!' } }] }, field: 'tools[0]' },
      {
        body: { model: 'test/chat', messages: [...ask, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'custom', custom: { name: 'apply_patch' } }] }] },
        field: 'messages[1]',
      },
    ]
    for (const { body, field } of cases) {
      const response = await chat(tenant.key, body)
      expect(response.status, field).toBe(400)
      expect(((await response.json()) as { error: { message: string } }).error.message).toContain(field)
    }
  })
})

describe('custom tools on chat completions: edge cases (from a review)', () => {
  it('names the field of a malformed function tool, custom tool or call, in the history too', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'Hi' })) })
    const history = (call: object) => [...ask, { role: 'assistant', content: null, tool_calls: [call] }]
    const cases = [
      { body: { tools: [{ type: 'function' }] }, field: 'tools[0].function' },
      { body: { tools: [{ type: 'custom', custom: { name: 'apply_patch', format: { type: 'grammar', grammar: { syntax: 'lark' } } } }] }, field: 'tools[0].custom.format.grammar.definition' },
      { body: { messages: history({ id: 'c', type: 'function', function: { name: 'f', arguments: { a: 1 } } }) }, field: 'messages[1].tool_calls[0].function.arguments' },
      { body: { messages: history({ id: 'c', function: { name: 'f', arguments: { a: 1 } } }) }, field: 'messages[1].tool_calls[0].function.arguments' },
      { body: { messages: history({ id: 'c', type: 'custom', custom: { name: 'apply_patch' } }) }, field: 'messages[1].tool_calls[0].custom.input' },
    ]
    for (const { body, field } of cases) {
      const response = await chat(tenant.key, { model: 'test/chat', messages: ask, ...body })
      expect(response.status, field).toBe(400)
      expect(await errorMessage(response)).toContain(field)
    }
    expect(upstream.calls).toHaveLength(0)
  })

  it('refuses a custom tool named as another tool, and a custom choice naming no custom tool', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'Hi' })) })
    const clash = await chat(tenant.key, { model: 'test/chat', messages: ask, tools: [weather, { type: 'custom', custom: { name: 'get_weather' } }] })
    expect(clash.status).toBe(400)
    expect(await errorMessage(clash)).toBe('Invalid request: tools[1].custom.name: another tool is named "get_weather": tool names must be unique')
    const twice = await chat(tenant.key, { model: 'test/chat', messages: ask, tools: [applyPatch, applyPatch] })
    expect(await errorMessage(twice)).toContain('tools[1].custom.name')
    for (const name of ['get_weather', 'nothing']) {
      const response = await chat(tenant.key, { model: 'test/chat', messages: ask, tools: [applyPatch, weather], tool_choice: { type: 'custom', custom: { name } } })
      expect(response.status, name).toBe(400)
      expect(await errorMessage(response)).toBe(`Invalid request: tool_choice.custom.name: no custom tool named "${name}" in tools`)
    }
    const allowed = (entry: object) => ({ type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [entry] } })
    const wrongKind = await chat(tenant.key, { model: 'test/chat', messages: ask, tools: [applyPatch, weather], tool_choice: allowed({ type: 'custom', custom: { name: 'get_weather' } }) })
    expect(await errorMessage(wrongKind)).toBe('Invalid request: tool_choice.allowed_tools.tools[0].custom.name: no custom tool named "get_weather" in tools')
    const asFunction = await chat(tenant.key, { model: 'test/chat', messages: ask, tools: [applyPatch, weather], tool_choice: allowed({ type: 'function', function: { name: 'apply_patch' } }) })
    expect(await errorMessage(asFunction)).toBe('Invalid request: tool_choice.allowed_tools.tools[0].function.name: no function tool named "apply_patch" in tools')
    expect(upstream.calls).toHaveLength(0)
  })

  it('streams a call whose name comes after its first fragment by that name’s kind', async () => {
    fakeUpstreams({
      [ALPHA]: () =>
        sseResponse([
          chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_p', type: 'function', function: { arguments: '' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { name: 'apply_patch', arguments: '{"inp' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: 'ut":"hi"}' } }] }),
          chunk({ tool_calls: [{ index: 1, id: 'call_w', type: 'function', function: { arguments: '{"city":' } }] }),
          chunk({ tool_calls: [{ index: 1, function: { name: 'get_weather', arguments: '"Oslo"' } }] }),
          chunk({ tool_calls: [{ index: 1, function: { arguments: '}' } }] }),
          chunk({}, 'tool_calls'),
          'data: [DONE]\n\n',
        ]),
    })
    const { data: chunks } = await readSse(await chat(tenant.key, { model: 'test/chat', stream: true, messages: ask, tools: [applyPatch, weather] }))
    expect(toolCallDeltas(chunks)).toStrictEqual([
      { index: 0, id: 'call_p', type: 'custom', custom: { name: 'apply_patch', input: 'hi' } },
      { index: 1, id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"' } },
      { index: 1, function: { arguments: '}' } },
    ])
  })

  it('hands on the log probabilities of the fragments it holds back', async () => {
    const logprobs = (token: string) => ({ logprobs: { content: [{ token, logprob: -0.1, bytes: null, top_logprobs: [] }] } })
    fakeUpstreams({
      [ALPHA]: () =>
        sseResponse([
          chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'apply_patch', arguments: '{"in' } }] }, null, logprobs('{"in')),
          chunk({ tool_calls: [{ index: 0, function: { arguments: 'put":"x"}' } }] }, null, logprobs('put":"x"}')),
          chunk({}, 'tool_calls'),
          'data: [DONE]\n\n',
        ]),
    })
    const { data: chunks } = await readSse(await chat(tenant.key, { model: 'test/chat', stream: true, logprobs: true, messages: ask, tools: [applyPatch] }))
    type WithLogprobs = { choices?: Array<{ logprobs?: { content?: Array<{ token: string }> } | null }> }
    const tokens = (chunks as WithLogprobs[]).flatMap((c) => (c.choices ?? []).flatMap((choice) => choice.logprobs?.content ?? []).map((lp) => lp.token))
    expect(tokens).toStrictEqual(['{"in', 'put":"x"}'])
  })

  it('keeps the extra_content of calls it holds back or names (Gemini’s thought signature), function and custom alike', () => {
    const signature = { google: { thought_signature: 'c2lnbmVk' } }
    const calls = customCallDeltas(new Set(['apply_patch']))
    expect(calls.delta({ tool_calls: [{ index: 0, id: 'w', extra_content: signature, function: { name: 'get_weather', arguments: '{}' } }] })).toStrictEqual({
      tool_calls: [{ index: 0, id: 'w', type: 'function', function: { name: 'get_weather', arguments: '{}' }, extra_content: signature }],
    })
    const whole = calls.delta({ tool_calls: [{ index: 1, id: 'p', extra_content: signature, function: { name: 'apply_patch', arguments: JSON.stringify({ input: patch }) } }] })
    expect(whole).toStrictEqual({ tool_calls: [{ index: 1, id: 'p', type: 'custom', custom: { name: 'apply_patch', input: patch }, extra_content: signature }] })
  })

  it('keeps a custom call’s extra_content in a whole answer, and sends it back upstream with the call', async () => {
    const signature = { google: { thought_signature: 'c2lnbmVk' } }
    fakeUpstreams({
      [GAMMA]: () =>
        jsonResponse(openaiCompletion({ content: null, finish_reason: 'tool_calls', tool_calls: [{ id: 'call_p', type: 'function', function: { name: 'apply_patch', arguments: JSON.stringify({ input: patch }) }, extra_content: signature }] })),
    })
    const answer = (await (await chat(tenant.key, { model: 'test/other', messages: [{ role: 'user', content: 'Add a.txt' }], tools: [applyPatch] })).json()) as {
      choices: { message: { tool_calls: Record<string, unknown>[] } }[]
    }
    expect(answer.choices[0]!.message.tool_calls[0]).toMatchObject({ type: 'custom', custom: { name: 'apply_patch', input: patch }, extra_content: signature })
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'Done.' })) })
    await chat(tenant.key, {
      model: 'test/other',
      tools: [applyPatch],
      messages: [
        { role: 'user', content: 'Add a.txt' },
        { role: 'assistant', content: null, tool_calls: [answer.choices[0]!.message.tool_calls[0]] },
        { role: 'tool', tool_call_id: 'call_p', content: 'Applied.' },
      ],
    })
    const sent = upstream.calls[0]!.body as { messages: { role: string; tool_calls?: Record<string, unknown>[] }[] }
    expect(sent.messages.find((message) => message.role === 'assistant')!.tool_calls![0]).toMatchObject({ type: 'function', function: { name: 'apply_patch' }, extra_content: signature })
  })

  it('reads a long streamed custom call once, not once per fragment', () => {
    let patch = '*** Begin Patch\n*** Update File: a.ts\n'
    while (patch.length < 100 * 1024) patch += '+  if (x) { return { a: "}" } }\n'
    patch += '*** End Patch'
    const args = JSON.stringify({ input: patch })
    const parse = vi.spyOn(JSON, 'parse')
    const calls = customCallDeltas(new Set(['apply_patch']))
    calls.delta({ tool_calls: [{ index: 0, id: 'a', function: { name: 'apply_patch', arguments: '' } }] })
    const out = []
    for (let at = 0; at < args.length; at += 4) out.push(calls.delta({ tool_calls: [{ index: 0, function: { arguments: args.slice(at, at + 4) } }] }))
    expect(out.filter(Boolean)).toStrictEqual([{ tool_calls: [{ index: 0, id: 'a', type: 'custom', custom: { name: 'apply_patch', input: patch } }] }])
    const parsed = parse.mock.calls.reduce((sum, [text]) => sum + String(text).length, 0)
    expect(parsed).toBeLessThan(3 * args.length)
    parse.mockRestore()
  })
})

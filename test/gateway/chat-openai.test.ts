import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { ALPHA, GAMMA } from '../support/catalog'
import { BASE, chat, type ErrorJson, readSse, setUpGateway } from '../support/gateway'
import { data, fakeUpstreams, jsonResponse, openaiCompletion, openaiStreamEvents, sseResponse } from '../support/upstream'

const tenant = setUpGateway()

const tools = [
  {
    type: 'function',
    function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  },
]

describe('OpenAI-format upstreams', () => {
  it('pass tools, images, response_format and unknown parameters through, with the upstream model and provider key', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const request = {
      model: 'test/chat',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] },
      ],
      tools,
      tool_choice: 'auto',
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' } } },
      temperature: 0.3,
      logit_bias: { '50256': -100 },
      provider: { sort: 'price' },
      models: ['test/other'],
      usage: { include: true },
      transforms: ['middle-out'],
      // Billed at prices the catalog does not hold: not passed on.
      service_tier: 'priority',
      web_search_options: { search_context_size: 'high' },
      modalities: ['text', 'audio'],
      audio: { voice: 'alloy', format: 'wav' },
    }
    const response = await chat(tenant.key, request)
    expect(response.status).toBe(200)
    const sent = upstream.calls[0]!
    expect(sent.url).toBe(`${ALPHA}/chat/completions`)
    expect(sent.headers.get('authorization')).toBe('Bearer test-upstream-key')
    expect(sent.body).toEqual({
      model: 'alpha-chat',
      messages: request.messages,
      tools,
      tool_choice: 'auto',
      response_format: request.response_format,
      temperature: 0.3,
      logit_bias: { '50256': -100 },
      stream: false,
    })
  })

  /** A chat request through a Worker whose provider secret was saved as `secret`. */
  async function chatWithSecret(secret: string): Promise<Response> {
    const request = new Request(`${BASE}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}` },
      body: JSON.stringify({ model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] }),
    })
    const ctx = createExecutionContext()
    const response = await worker.fetch(request, { ...env, TEST_PROVIDER_KEY: secret }, ctx)
    await waitOnExecutionContext(ctx)
    return response
  }

  it('send the provider key without the whitespace its secret was saved with', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const response = await chatWithSecret(' test-upstream-key\n')
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.headers.get('authorization')).toBe('Bearer test-upstream-key')
  })

  it('leave out a provider whose secret has a line break or a stray character inside, naming the secret and never its value', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const response = await chatWithSecret('test-upstream\nkey')
      expect(response.status).toBe(503)
      const body = (await response.json()) as { error: { message: string; metadata: Record<string, unknown> } }
      expect(body.error.message).toContain('usable API key')
      expect(body.error.metadata.missing_secrets).toEqual(['TEST_PROVIDER_KEY'])
      expect(upstream.calls).toHaveLength(0)
      const lines = logged.mock.calls.map((call) => call.join(' '))
      expect(lines.some((line) => line.includes('TEST_PROVIDER_KEY'))).toBe(true)
      expect(lines.some((line) => line.includes('test-upstream'))).toBe(false)
      // A pasted zero-width space: the runtime would send it, UTF-8 encoded, for the provider to refuse.
      expect((await chatWithSecret('test-upstream\u200bkey')).status).toBe(503)
      expect(upstream.calls).toHaveLength(0)
    } finally {
      logged.mockRestore()
    }
  })

  it('answer in the OpenRouter shape with exact cost', async () => {
    fakeUpstreams({
      [ALPHA]: () =>
        jsonResponse(
          openaiCompletion({
            content: 'Hi there',
            usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500, prompt_tokens_details: { cached_tokens: 200 } },
          }),
        ),
    })
    const response = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] })
    const body = (await response.json()) as Record<string, any>
    expect(body.id).toMatch(/^gen-\d+-[A-Za-z0-9]{20}$/)
    expect(response.headers.get('x-generation-id')).toBe(body.id)
    expect(response.headers.get('x-request-id')).toBe(body.id)
    expect(response.headers.get('x-meridian-provider')).toBe('alpha')
    expect(response.headers.get('x-meridian-attempts')).toBe('1')
    expect(body).toMatchObject({
      provider: 'Alpha',
      model: 'test/chat',
      object: 'chat.completion',
      system_fingerprint: 'fp_upstream',
      choices: [
        {
          index: 0,
          finish_reason: 'stop',
          native_finish_reason: 'stop',
          message: { role: 'assistant', content: 'Hi there', refusal: null },
        },
      ],
      usage: {
        prompt_tokens: 1000,
        completion_tokens: 500,
        total_tokens: 1500,
        prompt_tokens_details: { cached_tokens: 200, cache_write_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    })
    // 1000 prompt tokens at $1/M (no cache price set, so cached tokens cost the same) + 500 at $2/M
    expect(body.usage.cost).toBe(0.002)
    expect(typeof body.created).toBe('number')
  })

  it("pass the upstream's logprobs on, in JSON and in streams", async () => {
    const token = (text: string) => ({ token: text, logprob: -0.25, bytes: [...new TextEncoder().encode(text)], top_logprobs: [{ token: text, logprob: -0.25, bytes: null }] })
    const answer = { ...openaiCompletion({ content: 'Hi' }) }
    answer.choices = answer.choices.map((choice) => ({ ...choice, logprobs: { content: [token('Hi')], refusal: null } }))
    const streamed = (text: string) => data({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: text }, finish_reason: null, logprobs: { content: [token(text)], refusal: null } }] })
    const upstream = fakeUpstreams({
      [ALPHA]: (call) =>
        call.body.stream
          ? sseResponse([streamed('Hi'), streamed(' there'), ...openaiStreamEvents([]).slice(1)])
          : jsonResponse(answer),
    })
    const asked = { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 1 }
    const body = (await (await chat(tenant.key, asked)).json()) as Record<string, any>
    expect(body.choices[0].logprobs).toEqual({ content: [token('Hi')], refusal: null })
    expect(upstream.calls[0]!.body).toMatchObject({ logprobs: true, top_logprobs: 1 })

    const { data: chunks } = await readSse(await chat(tenant.key, { ...asked, stream: true }))
    const content = chunks.filter((chunk: any) => chunk.choices?.[0]?.delta?.content)
    expect(content.map((chunk: any) => chunk.choices[0].logprobs)).toEqual([
      { content: [token('Hi')], refusal: null },
      { content: [token(' there')], refusal: null },
    ])
    expect(chunks.filter((chunk: any) => chunk.choices?.[0]?.finish_reason).map((chunk: any) => chunk.choices[0].logprobs)).toEqual([null])
  })

  it("serve OpenAI's allowed_tools choice as the tools it allows and its mode, and refuse one naming no tool", async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'Hi' })) })
    const clock = { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } }
    const asked = { model: 'test/chat', messages: [{ role: 'user', content: 'weather?' }], tools: [...tools, clock] }
    const allowed = (names: string[]) => ({ type: 'allowed_tools', allowed_tools: { mode: 'required', tools: names.map((name) => ({ type: 'function', function: { name } })) } })
    expect((await chat(tenant.key, { ...asked, tool_choice: allowed(['get_time']) })).status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({ tools: [clock], tool_choice: 'required' })
    const refused = await chat(tenant.key, { ...asked, tool_choice: allowed(['get_time', 'nothing']) })
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
      'Invalid request: tool_choice.allowed_tools.tools[1].function.name: no function tool named "nothing" in tools',
    )
    expect(upstream.calls).toHaveLength(1)
  })

  it('return tool calls with finish_reason tool_calls', async () => {
    const toolCalls = [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ content: null, tool_calls: toolCalls, finish_reason: 'tool_calls' })) })
    const response = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'weather?' }], tools })
    const body = (await response.json()) as Record<string, any>
    expect(body.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { content: null, tool_calls: toolCalls } })
  })

  it('serve the same API under /api/v1', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] }, '/api/v1/chat/completions')
    expect(response.status).toBe(200)
  })

  it('report an overload an OpenAI-format upstream gives as code 529 (as OpenRouter relays Anthropic), in a body and mid-stream', async () => {
    const overloaded = { error: { code: 529, message: 'Overloaded', metadata: { provider_name: 'Anthropic' } } }
    fakeUpstreams({ [GAMMA]: () => jsonResponse(overloaded, 502) })
    const response = await chat(tenant.key, { model: 'test/other', messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(502)
    expect(((await response.json()) as ErrorJson).error.metadata).toMatchObject({ provider_name: 'Gamma', error_type: 'provider_overloaded' })

    fakeUpstreams({ [GAMMA]: () => sseResponse([...openaiStreamEvents(['Hal']).slice(0, 2), data({ ...overloaded, choices: [{ index: 0, delta: {}, finish_reason: 'error' }] })]) })
    const { data: chunks } = await readSse(await chat(tenant.key, { model: 'test/other', stream: true, messages: [{ role: 'user', content: 'hi' }] }))
    expect(chunks.find((chunk) => chunk.error)).toMatchObject({ error: { metadata: { error_type: 'provider_overloaded' } } })
  })

  it('estimate usage when the upstream reports none, rather than charging nothing', async () => {
    const body = openaiCompletion({ content: 'x'.repeat(40) })
    delete (body as Partial<typeof body>).usage
    fakeUpstreams({ [ALPHA]: () => jsonResponse(body) })
    const response = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'y'.repeat(80) }] })
    const json = (await response.json()) as Record<string, any>
    expect(json.usage).toMatchObject({ prompt_tokens: 20, completion_tokens: 10 })
    expect(json.usage.cost).toBeGreaterThan(0)
  })

  it.each([
    ['a count sent as a string', { prompt_tokens: '5', completion_tokens: 3, total_tokens: 8 }],
    ['a negative count', { prompt_tokens: -5, completion_tokens: 3, total_tokens: -2 }],
    ['counts past 2^53', { prompt_tokens: 1e20, completion_tokens: 4611686018427387904, total_tokens: 1e20 }],
  ])('estimate usage when the upstream reports %s, rather than charging nothing', async (_label, usage) => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse({ ...openaiCompletion({ content: 'x'.repeat(40) }), usage }) })
    const response = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'y'.repeat(80) }] })
    const json = (await response.json()) as { usage: { prompt_tokens: number; completion_tokens: number; cost: number } }
    expect(json.usage).toMatchObject({ prompt_tokens: 20, completion_tokens: 10 })
    expect(json.usage.cost).toBeGreaterThan(0)
  })
})

describe('reasoning.exclude with an OpenAI-format upstream, which ignores it', () => {
  const chunk = (delta: object, finish: string | null = null) => data({ choices: [{ index: 0, delta, finish_reason: finish }] })
  const ask = { model: 'test/other', reasoning: { effort: 'high', exclude: true }, messages: [{ role: 'user', content: '2+2?' }] }

  it('leaves the reasoning out of a JSON answer, and still bills its tokens', async () => {
    const answer = openaiCompletion({ content: '4', usage: { prompt_tokens: 10, completion_tokens: 30, completion_tokens_details: { reasoning_tokens: 25 } } })
    answer.choices[0]!.message = { role: 'assistant', content: '4', reasoning_content: 'The user asks 2+2. That is 4.', reasoning_details: [{ type: 'reasoning.text', text: 'The user asks' }] } as never
    fakeUpstreams({ [GAMMA]: () => jsonResponse(answer) })
    const body = (await (await chat(tenant.key, ask)).json()) as { choices: { message: Record<string, unknown> }[]; usage: Record<string, unknown> }
    expect(body.choices[0]!.message).toMatchObject({ content: '4' })
    expect(body.choices[0]!.message).not.toHaveProperty('reasoning')
    expect(body.choices[0]!.message).not.toHaveProperty('reasoning_details')
    expect(body.usage).toMatchObject({ completion_tokens: 30, completion_tokens_details: { reasoning_tokens: 25 } })
  })

  it('leaves it out of a stream (include_reasoning: false too), and counts it for a stream cut before its usage', async () => {
    fakeUpstreams({
      [GAMMA]: () =>
        sseResponse([chunk({ role: 'assistant', content: null, reasoning_content: 'The user asks 2+2.' }), chunk({ reasoning_content: ' That is 4.' }), chunk({ content: '4' }), chunk({}, 'stop'), 'data: [DONE]\n\n']),
    })
    for (const body of [{ ...ask, stream: true }, { model: 'test/other', include_reasoning: false, stream: true, messages: ask.messages }]) {
      const { data: chunks } = await readSse(await chat(tenant.key, body))
      const deltas = chunks.flatMap((c) => (c.choices as { delta?: Record<string, unknown> }[]).map((choice) => choice.delta ?? {}))
      expect(deltas.map((delta) => delta.reasoning ?? '').join('')).toBe('')
      expect(deltas.map((delta) => delta.content ?? '').join('')).toBe('4')
      // No usage came: the estimate counts the hidden reasoning (29 characters) with the answer.
      expect((chunks.at(-1)!.usage as { completion_tokens: number }).completion_tokens).toBeGreaterThan(1)
    }
  })
})

describe('~author/family-latest', () => {
  it('is served by the newest model of the family, which the answer names', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: '~test/chat-latest', messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ model: 'test/chat', provider: 'Alpha' })
    expect(upstream.calls[0]!.body).toMatchObject({ model: 'alpha-chat' })
  })
})

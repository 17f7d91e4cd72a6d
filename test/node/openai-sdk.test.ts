/// <reference types="node" />
import OpenAI from 'openai'
import { beforeAll, describe, expect, it } from 'vitest'
import { ANTHROPIC_FORMAT_PROVIDER, MODEL, UNKNOWN_KEY, useMeridian } from './support/meridian'

/**
 * The official `openai` SDK against the running gateway (wrangler dev + the demo fleet),
 * changing nothing but `baseURL` and the key.
 */

const meridian = useMeridian()
let client: OpenAI

beforeAll(() => {
  client = new OpenAI({ baseURL: `${meridian().url}/v1`, apiKey: meridian().key, maxRetries: 0 })
})

describe('the openai SDK, unchanged', () => {
  it('makes a non-streaming call', async () => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Say hello' }],
    })
    expect(completion.id).toMatch(/^gen-/)
    expect(completion._request_id).toBe(completion.id)
    expect(completion.model).toBe(MODEL)
    expect(completion.choices[0]!.message.content).toContain('Say hello')
    expect(completion.choices[0]!.finish_reason).toBe('stop')
    expect(completion.usage!.total_tokens).toBeGreaterThan(0)
    expect((completion.usage as unknown as { cost: number }).cost).toBeGreaterThan(0)
    expect((completion as unknown as { provider: string }).provider).toBe('Demo US East')
  })

  it('streams, ending with a usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
    })
    let text = ''
    let usage: { cost?: number; completion_tokens: number } | undefined
    let pieces = 0
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content
      if (piece) {
        text += piece
        pieces++
      }
      if (chunk.usage) usage = chunk.usage as typeof usage
    }
    expect(text).toContain('Stream please')
    expect(pieces).toBeGreaterThan(5)
    expect(usage!.completion_tokens).toBeGreaterThan(0)
    expect(usage!.cost).toBeGreaterThan(0)
  })

  it('accumulates a streamed answer with the SDK helper', async () => {
    const runner = client.chat.completions.stream({ model: MODEL, messages: [{ role: 'user', content: 'Accumulate' }] })
    const final = await runner.finalChatCompletion()
    expect(final.choices[0]!.message.role).toBe('assistant')
    expect(final.choices[0]!.message.content).toContain('Accumulate')
  })

  it('calls a tool', async () => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }],
    })
    const call = completion.choices[0]!.message.tool_calls![0]!
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls')
    expect(call.type === 'function' && call.function.name).toBe('get_weather')
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'demo' })
  })

  it('calls a custom (freeform) tool, streaming and not', async () => {
    const ask = { model: MODEL, messages: [{ role: 'user' as const, content: 'Patch a.txt' }], tools: [{ type: 'custom' as const, custom: { name: 'apply_patch', description: 'Edit files' } }] }
    const completion = await client.chat.completions.create(ask)
    const call = completion.choices[0]!.message.tool_calls![0]!
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls')
    expect(call.type === 'custom' && call.custom).toEqual({ name: 'apply_patch', input: 'demo' })
    const stream = await client.chat.completions.create({ ...ask, stream: true })
    const calls: unknown[] = []
    for await (const chunk of stream) calls.push(...(chunk.choices[0]?.delta.tool_calls ?? []))
    expect(calls).toMatchObject([{ index: 0, type: 'custom', custom: { name: 'apply_patch', input: 'demo' } }])
  })

  it('streams a tool call from the Anthropic-format provider (provider.order in the body)', async () => {
    const runner = client.chat.completions.stream({
      model: MODEL,
      messages: [{ role: 'user', content: 'Weather in Berlin?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'] } } }],
      provider: { order: [ANTHROPIC_FORMAT_PROVIDER], allow_fallbacks: false },
    })
    const final = await runner.finalChatCompletion()
    const call = final.choices[0]!.message.tool_calls![0]!
    expect(final.choices[0]!.finish_reason).toBe('tool_calls')
    expect(call.type === 'function' && call.function.name).toBe('get_weather')
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'demo', days: 1 })
  })

  it('surfaces a gateway error as the SDK’s own error type', async () => {
    const error = await client.chat.completions
      .create({ model: 'nobody/nothing', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).message).toContain('No endpoints found')

    const anonymous = new OpenAI({ baseURL: `${meridian().url}/v1`, apiKey: UNKNOWN_KEY, maxRetries: 0 })
    await expect(anonymous.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    )
  })

  it('lists models', async () => {
    const models = await client.models.list()
    expect(models.data.map((m) => m.id)).toEqual([MODEL, 'meridian/demo-mini'])
    expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'meridian' })
  })

  it('retrieves a model by its id (the SDK percent-encodes the slash)', async () => {
    expect(await client.models.retrieve(MODEL)).toMatchObject({ id: MODEL })
    await expect(client.models.retrieve('nobody/none')).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })
})

describe('the openai SDK’s Responses API, unchanged', () => {
  const getWeather = { type: 'function' as const, name: 'get_weather', strict: false, parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }

  it('creates a response, with output_text and usage with cost', async () => {
    const response = await client.responses.create({ model: MODEL, instructions: 'Be brief.', input: 'Say hello' })
    expect(response.id).toMatch(/^gen-/)
    expect(response.status).toBe('completed')
    expect(response.output_text).toContain('Say hello')
    expect(response.usage!.output_tokens).toBeGreaterThan(0)
    expect((response.usage as unknown as { cost: number }).cost).toBeGreaterThan(0)
  })

  it('streams a response with the SDK helper, from the Anthropic-format provider', async () => {
    const stream = client.responses.stream({
      model: MODEL,
      input: [{ role: 'user', content: 'Stream please' }],
      provider: { order: [ANTHROPIC_FORMAT_PROVIDER], allow_fallbacks: false },
    } as Parameters<typeof client.responses.stream>[0])
    let deltas = 0
    stream.on('response.output_text.delta', () => deltas++)
    const final = await stream.finalResponse()
    expect(deltas).toBeGreaterThan(5)
    expect(final.output_text).toContain('Stream please')
    expect((final as unknown as { provider: string }).provider).toBe('Demo EU Central')
    expect((final.usage as unknown as { cost: number }).cost).toBeGreaterThan(0)
  })

  it('calls a function, and answers with its output over a second request', async () => {
    const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'Weather in Paris?' }]
    const first = await client.responses.create({ model: MODEL, input, tools: [getWeather] })
    const call = first.output.find((item) => item.type === 'function_call')!
    expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"demo"}' })
    const second = await client.responses.create({
      model: MODEL,
      input: [...input, ...(first.output as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: call.call_id, output: 'sunny' }],
      tools: [getWeather],
      store: false,
    })
    expect(second.status).toBe('completed')
    expect(second.output_text.length).toBeGreaterThan(0)
  })

  it('continues a stored response by previous_response_id, retrieves it and deletes it', async () => {
    const first = await client.responses.create({ model: MODEL, input: 'Remember me' })
    expect((first as unknown as { store: boolean }).store).toBe(true)
    const input = [
      { role: 'developer' as const, content: 'Briefly.' },
      { role: 'user' as const, content: 'And now?' },
    ]
    const second = await client.responses.create({ model: MODEL, input, previous_response_id: first.id })
    expect(second.previous_response_id).toBe(first.id)
    // The demo fleet counts every message it was sent as prompt: the first exchange came along.
    expect(second.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens + first.usage!.output_tokens - 2)
    expect((await client.responses.retrieve(first.id)).output_text).toBe(first.output_text)
    // The SDK's auto-pagination follows `after` through pages of one.
    const listed: string[] = []
    for await (const item of client.responses.inputItems.list(second.id, { limit: 1, order: 'asc' })) {
      listed.push(item.type === 'message' && item.content[0]?.type === 'input_text' ? item.content[0].text : item.type)
    }
    expect(listed).toEqual(['Briefly.', 'And now?'])
    await client.responses.delete(first.id)
    const gone = await client.responses.retrieve(first.id).catch((e: unknown) => e)
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('surfaces a previous response not found as a BadRequestError with its code', async () => {
    const error = await client.responses.create({ model: MODEL, input: 'hi', previous_response_id: 'resp_1' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('previous_response_not_found')
  })
})

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
  })

  it('retrieves a model by its id (the SDK percent-encodes the slash)', async () => {
    expect(await client.models.retrieve(MODEL)).toMatchObject({ id: MODEL })
    await expect(client.models.retrieve('nobody/none')).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })
})

/// <reference types="node" />
import Anthropic from '@anthropic-ai/sdk'
import { beforeAll, describe, expect, it } from 'vitest'
import { ANTHROPIC_FORMAT_PROVIDER, MODEL, UNKNOWN_KEY, useMeridian } from './support/meridian'

/**
 * The official Anthropic SDK (1.x) against the gateway's `/v1/messages`, changing nothing but
 * `baseURL` (the SDK appends `/v1/messages` itself) and the key, sent every way the SDK can: 1.x
 * sends both `apiKey` and `authToken` as `Authorization: Bearer`; a hand-set `x-api-key` (what
 * 0.x and Claude Code send) works as well.
 */

const meridian = useMeridian()
let client: Anthropic

const WEATHER_TOOL: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather of a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'] },
}

/** Anthropic's usage plus the `cost` (USD) the gateway adds. */
type UsageWithCost = Anthropic.Usage & { cost?: number }
type MessageDeltaUsageWithCost = Anthropic.MessageDeltaUsage & { cost?: number }

beforeAll(() => {
  client = new Anthropic({ baseURL: meridian().url, apiKey: meridian().key, maxRetries: 0 })
})

describe('the Anthropic SDK against /v1/messages, unchanged', () => {
  it('makes a non-streaming call', async () => {
    const message = await client.messages.create({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'Say hello' }] })
    expect(message.type).toBe('message')
    expect(message.role).toBe('assistant')
    expect(message.model).toBe(MODEL)
    expect(message.stop_reason).toBe('end_turn')
    const block = message.content[0]!
    expect(block.type === 'text' && block.text).toContain('Say hello')
    expect(message.usage.input_tokens).toBeGreaterThan(0)
    expect(message.usage.output_tokens).toBeGreaterThan(0)
    expect((message.usage as UsageWithCost).cost).toBeGreaterThan(0)
  })

  it("gives the SDK the generation id as the answer's request id", async () => {
    const { data, response, request_id } = await client.messages
      .create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Say hi' }] })
      .withResponse()
    expect(data.type).toBe('message')
    expect(request_id).toMatch(/^gen-/)
    expect(request_id).toBe(response.headers.get('x-generation-id'))
  })

  it.each([
    // 1.x sends `apiKey` as Bearer too, with anthropic-version 2026-10-21.
    { how: 'apiKey (1.x default)', options: (key: string) => ({ apiKey: key }), sends: 'authorization' },
    { how: 'authToken', options: (key: string) => ({ authToken: key, apiKey: null }), sends: 'authorization' },
    // 0.x and Claude Code send `x-api-key` with anthropic-version 2023-06-01; 1.x does that only when told.
    {
      how: 'x-api-key',
      options: (key: string) => ({ apiKey: null, defaultHeaders: { 'x-api-key': key, authorization: null, 'anthropic-version': '2023-06-01' } }),
      sends: 'x-api-key',
    },
  ])('authenticates with $how', async ({ options, sends }) => {
    const sent: Headers[] = []
    const recording: typeof fetch = (input, init) => {
      sent.push(new Headers(init?.headers))
      return fetch(input, init)
    }
    const other = new Anthropic({ baseURL: meridian().url, maxRetries: 0, fetch: recording, ...options(meridian().key) })
    const message = await other.messages.create({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'Auth please' }] })
    const block = message.content[0]!
    expect(block.type === 'text' && block.text).toContain('Auth please')
    expect(sent).toHaveLength(1)
    const headers = sent[0]!
    if (sends === 'authorization') {
      expect(headers.get('authorization')).toBe(`Bearer ${meridian().key}`)
      expect(headers.get('x-api-key')).toBeNull()
    } else {
      expect(headers.get('x-api-key')).toBe(meridian().key)
      expect(headers.get('authorization')).toBeNull()
    }
  })

  it('streams with messages.stream(): text in pieces, then the final message with usage', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'Stream please' }] })
    const pieces: string[] = []
    stream.on('text', (delta) => pieces.push(delta))
    const final = await stream.finalMessage()
    expect(pieces.length).toBeGreaterThan(5)
    expect(pieces.join('')).toContain('Stream please')
    const block = final.content[0]!
    expect(block.type === 'text' && block.text).toBe(pieces.join(''))
    expect(final.stop_reason).toBe('end_turn')
    expect(final.usage.output_tokens).toBeGreaterThan(0)
    expect(final.usage.input_tokens).toBeGreaterThan(0)
  })

  it('streams raw events with stream: true, the last message_delta carrying usage and cost', async () => {
    const stream = await client.messages.create({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'Raw events' }], stream: true })
    const types: string[] = []
    let usage: MessageDeltaUsageWithCost | undefined
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === 'message_delta') usage = event.usage
    }
    expect(types[0]).toBe('message_start')
    expect(types.at(-1)).toBe('message_stop')
    expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThan(5)
    expect(usage!.output_tokens).toBeGreaterThan(0)
    expect(usage!.cost).toBeGreaterThan(0)
  })

  it('calls a tool, and takes the tool result back', async () => {
    const message = await client.messages.create({
      model: MODEL,
      max_tokens: 256,
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    })
    expect(message.stop_reason).toBe('tool_use')
    const use = message.content.find((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use')!
    expect(use.name).toBe('get_weather')
    expect(use.input).toEqual({ city: 'demo', days: 1 })
    expect(use.id).toBeTruthy()

    const answer = await client.messages.create({
      model: MODEL,
      max_tokens: 256,
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: message.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny, 21C' }] },
      ],
    })
    const block = answer.content[0]!
    expect(block.type === 'text' && block.text).toContain('sunny, 21C')
  })

  it('streams a tool call from the Anthropic-format provider (provider.order in the body)', async () => {
    // messages.stream() takes no extra-body option; the routing field rides along in the params.
    const routed = client.messages.stream({
      model: MODEL,
      max_tokens: 256,
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user', content: 'Weather in Berlin?' }],
      provider: { order: [ANTHROPIC_FORMAT_PROVIDER], allow_fallbacks: false },
    } as Anthropic.MessageStreamParams)
    const inputs: unknown[] = []
    routed.on('inputJson', (_partial, snapshot) => inputs.push(snapshot))
    const final = await routed.finalMessage()
    expect(final.stop_reason).toBe('tool_use')
    expect((final as Anthropic.Message & { provider?: string }).provider).toBe('Demo EU Central')
    const use = final.content.find((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use')!
    expect(use.name).toBe('get_weather')
    expect(use.input).toEqual({ city: 'demo', days: 1 })
    expect(inputs.length).toBeGreaterThan(0)
  })

  it("counts tokens with messages.countTokens() and Claude Code's beta call, as the provider's usage counts them", async () => {
    const request = { model: MODEL, system: 'Answer in one word.', messages: [{ role: 'user' as const, content: 'How many tokens is this sentence?' }] }
    const counted = await client.messages.countTokens(request)
    const beta = await client.beta.messages.countTokens(request)
    const served = await client.messages.create({
      ...request,
      max_tokens: 64,
      provider: { order: [ANTHROPIC_FORMAT_PROVIDER], allow_fallbacks: false },
    } as Anthropic.MessageCreateParamsNonStreaming)
    expect(counted.input_tokens).toBeGreaterThan(0)
    expect(counted.input_tokens).toBe(served.usage.input_tokens)
    expect(beta.input_tokens).toBe(counted.input_tokens)
    // A tool history counts as the demo provider's usage counts it too.
    const history = {
      model: MODEL,
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user' as const, content: 'Weather in Oslo?' },
        { role: 'assistant' as const, content: [{ type: 'tool_use' as const, id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo', days: 1 } }] },
        { role: 'user' as const, content: [{ type: 'tool_result' as const, tool_use_id: 'toolu_1', content: 'Sunny, 21 degrees and a light wind' }] },
      ],
    }
    const historyCount = await client.messages.countTokens(history)
    const historyServed = await client.messages.create({
      ...history,
      max_tokens: 64,
      provider: { order: [ANTHROPIC_FORMAT_PROVIDER], allow_fallbacks: false },
    } as Anthropic.MessageCreateParamsNonStreaming)
    expect(historyCount.input_tokens).toBe(historyServed.usage.input_tokens)
    const uncounted = await client.messages.countTokens({ ...request, model: 'nobody/nothing' }).catch((e: unknown) => e)
    expect(uncounted).toBeInstanceOf(Anthropic.NotFoundError)
  })

  it('lists and retrieves models with models.list() and models.retrieve()', async () => {
    const page = await client.models.list()
    expect(page.data.map((model) => model.id)).toEqual([MODEL, 'meridian/demo-mini'])
    expect(page.data[0]).toMatchObject({ type: 'model', id: MODEL, display_name: expect.any(String) })
    expect(Number.isNaN(Date.parse(page.data[0]!.created_at))).toBe(false)
    expect(page.hasNextPage()).toBe(false)
    expect([page.first_id, page.last_id]).toEqual([MODEL, 'meridian/demo-mini'])
    const model = await client.models.retrieve(MODEL)
    expect(model).toMatchObject({ type: 'model', id: MODEL, display_name: page.data[0]!.display_name })
  })

  it('pages models.list() by after_id, a page of one at a time, to the end', async () => {
    const ids: string[] = []
    for await (const model of client.models.list({ limit: 1 })) {
      ids.push(model.id)
      if (ids.length > 5) break // without this guard a listing that ignored after_id would never end
    }
    expect(ids).toEqual([MODEL, 'meridian/demo-mini'])
  })

  it('surfaces gateway errors as the SDK’s own error types', async () => {
    const unknown = await client.messages
      .create({ model: 'nobody/nothing', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError)
    expect((unknown as InstanceType<typeof Anthropic.NotFoundError>).status).toBe(404)
    expect((unknown as InstanceType<typeof Anthropic.NotFoundError>).message).toContain('No endpoints found')

    const wrongKey = new Anthropic({ baseURL: meridian().url, apiKey: UNKNOWN_KEY, maxRetries: 0 })
    await expect(wrongKey.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
      Anthropic.AuthenticationError,
    )
    const wrongHeader = new Anthropic({ baseURL: meridian().url, apiKey: null, defaultHeaders: { 'x-api-key': UNKNOWN_KEY, authorization: null }, maxRetries: 0 })
    await expect(wrongHeader.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
      Anthropic.AuthenticationError,
    )

    const invalid = await client.messages.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] } as unknown as Anthropic.MessageCreateParamsNonStreaming).catch((e: unknown) => e)
    expect(invalid).toBeInstanceOf(Anthropic.BadRequestError)
  })
})

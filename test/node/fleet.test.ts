/// <reference types="node" />
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { CatalogSchema } from '../../src/catalog/schema'
import { devCatalog } from '../../scripts/dev-catalog'
import { type Fleet, type FleetProvider, fleetOptionsFromEnv, parseFleetChaos, startFleet } from '../../scripts/fleet'

let fleet: Fleet

beforeAll(async () => {
  fleet = await startFleet({ basePort: 0, ttftMs: 0, tokensPerSecond: 10_000 })
})
afterAll(() => fleet?.stop())

const provider = (id: string): FleetProvider => fleet.providers.find((p) => p.id === id) ?? expect.fail(`no provider ${id}`)

const WEATHER_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' }, days: { type: 'integer' }, metric: { type: 'boolean' }, note: { type: 'string' } },
  required: ['city', 'days', 'metric'],
}

const OpenAIChat = z.object({
  object: z.literal('chat.completion'),
  choices: z.array(z.object({
    finish_reason: z.string(),
    message: z.object({
      content: z.string().nullable(),
      tool_calls: z.array(z.object({ function: z.object({ name: z.string(), arguments: z.string() }) })).optional(),
    }),
  })).length(1),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }),
})
const OpenAIChunk = z.object({
  object: z.literal('chat.completion.chunk'),
  choices: z.array(z.object({ delta: z.object({ content: z.string().nullish() }) })),
})
const AnthropicMessage = z.object({
  type: z.literal('message'),
  stop_reason: z.string(),
  content: z.array(z.looseObject({ type: z.string(), text: z.string().optional(), name: z.string().optional(), input: z.unknown().optional() })),
  usage: z.object({ input_tokens: z.number(), output_tokens: z.number() }),
})
const EmbeddingList = z.object({
  object: z.literal('list'),
  data: z.array(z.object({ object: z.literal('embedding'), index: z.number(), embedding: z.union([z.array(z.number()), z.string()]) })),
  usage: z.object({ prompt_tokens: z.number(), total_tokens: z.number() }),
})
const AnthropicEvent = z.looseObject({
  type: z.string(),
  delta: z.looseObject({ text: z.string().optional() }).optional(),
  usage: z.looseObject({ output_tokens: z.number() }).optional(),
})

/** Sends one chat request in the provider's own wire format. */
async function chat(p: FleetProvider, body: { text: string; stream?: boolean; tools?: boolean }): Promise<Response> {
  const messages = [{ role: 'user', content: body.text }]
  const request =
    p.format === 'openai'
      ? {
          model: 'demo-chat', messages, stream: body.stream ?? false,
          ...(body.tools ? { tools: [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER_SCHEMA } }] } : {}),
        }
      : {
          model: 'demo-chat', max_tokens: 1024, messages, stream: body.stream ?? false,
          ...(body.tools ? { tools: [{ name: 'get_weather', input_schema: WEATHER_SCHEMA }] } : {}),
        }
  const path = p.format === 'openai' ? '/chat/completions' : '/messages'
  const res = await fetch(p.baseUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer demo', 'x-api-key': 'demo' },
    body: JSON.stringify(request),
  })
  expect(res.status).toBe(200)
  return res
}

/** Parses an SSE body into `{ event, data }` frames. */
async function sse(res: Response): Promise<{ event: string | undefined; data: string }[]> {
  return (await res.text())
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const lines = frame.split('\n')
      return { event: lines.find((l) => l.startsWith('event: '))?.slice(7), data: lines.find((l) => l.startsWith('data: '))?.slice(6) ?? '' }
    })
}

describe('demo fleet', () => {
  it('runs three providers in different regions, each on its own loopback port', () => {
    expect(fleet.providers.map((p) => [p.id, p.format])).toEqual([
      ['demo-us-east', 'openai'], ['demo-eu-central', 'anthropic'], ['demo-ap-southeast', 'openai'],
    ])
    expect(new Set(fleet.providers.map((p) => p.baseUrl)).size).toBe(3)
    expect(new Set(fleet.providers.map((p) => p.region.name)).size).toBe(3)
    for (const p of fleet.providers) expect(p.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/)
  })

  it.each(['demo-us-east', 'demo-ap-southeast'])('%s answers an OpenAI chat completion naming itself', async (id) => {
    const p = provider(id)
    const body = OpenAIChat.parse(await (await chat(p, { text: 'ping from the test' })).json())
    const content = body.choices[0]?.message.content
    expect(content).toContain(p.name)
    expect(content).toContain(p.region.name)
    expect(content).toContain('ping from the test')
    expect(body.usage.completion_tokens).toBeGreaterThan(10)
  })

  it('demo-eu-central answers an Anthropic message with usage', async () => {
    const p = provider('demo-eu-central')
    const body = AnthropicMessage.parse(await (await chat(p, { text: 'ping from the test' })).json())
    expect(body.content[0]?.text).toContain('Frankfurt')
    expect(body.content[0]?.text).toContain('ping from the test')
    expect(body.stop_reason).toBe('end_turn')
    expect(body.usage.input_tokens).toBeGreaterThan(0)
    expect(body.usage.output_tokens).toBeGreaterThan(10)
  })

  it.each(['demo-us-east', 'demo-ap-southeast'])('%s streams OpenAI chunks token by token', async (id) => {
    const frames = await sse(await chat(provider(id), { text: 'stream please', stream: true }))
    expect(frames.at(-1)?.data).toBe('[DONE]')
    const chunks = frames.slice(0, -1).map((f) => OpenAIChunk.parse(JSON.parse(f.data)))
    const deltas = chunks.map((c) => c.choices[0]?.delta.content ?? '').filter(Boolean)
    expect(deltas.length).toBeGreaterThan(20)
    expect(deltas.join('')).toContain('stream please')
  })

  it('demo-eu-central streams Anthropic named events', async () => {
    const frames = await sse(await chat(provider('demo-eu-central'), { text: 'stream please', stream: true }))
    const events = frames.map((f) => f.event)
    expect(events[0]).toBe('message_start')
    expect(events.at(-1)).toBe('message_stop')
    expect(events).toContain('message_delta')
    const parsed = frames.map((f) => AnthropicEvent.parse(JSON.parse(f.data)))
    expect(parsed.map((e) => e.type)).toEqual(events)
    const text = parsed.filter((e) => e.type === 'content_block_delta').map((e) => e.delta?.text ?? '')
    expect(text.length).toBeGreaterThan(20)
    expect(text.join('')).toContain('stream please')
    expect(parsed.find((e) => e.type === 'message_delta')?.usage?.output_tokens).toBeGreaterThan(10)
  })

  it('calls the first tool with arguments filled from its required properties (OpenAI)', async () => {
    const body = OpenAIChat.parse(await (await chat(provider('demo-us-east'), { text: 'weather?', tools: true })).json())
    expect(body.choices[0]?.finish_reason).toBe('tool_calls')
    const call = body.choices[0]?.message.tool_calls?.[0]
    expect(call?.function.name).toBe('get_weather')
    expect(JSON.parse(call?.function.arguments ?? 'null')).toEqual({ city: 'demo', days: 1, metric: true })
  })

  it('calls the first tool with arguments filled from its required properties (Anthropic)', async () => {
    const body = AnthropicMessage.parse(await (await chat(provider('demo-eu-central'), { text: 'weather?', tools: true })).json())
    expect(body.stop_reason).toBe('tool_use')
    expect(body.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'demo', days: 1, metric: true } })
    expect(body.usage.output_tokens).toBeGreaterThan(0)
  })

  it.each(['demo-us-east', 'demo-ap-southeast'])('%s answers OpenAI embeddings: unit vectors, the same for the same text, in floats or base64, with usage', async (id) => {
    const embed = async (body: object) => {
      const response = await fetch(`${provider(id).baseUrl}/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'demo-embed', ...body }) })
      expect(response.status).toBe(200)
      return EmbeddingList.parse(await response.json())
    }
    const floats = await embed({ input: ['hello world', 'goodbye', 'hello world'] })
    const vectors = floats.data.map((item) => item.embedding as number[])
    expect(vectors.map((vector) => vector.length)).toEqual([256, 256, 256])
    expect(Math.hypot(...vectors[0]!)).toBeCloseTo(1, 5)
    expect(vectors[2]).toEqual(vectors[0])
    expect(vectors[1]).not.toEqual(vectors[0])
    expect(floats.usage.prompt_tokens).toBe(3 + 2 + 3)
    const encoded = await embed({ input: 'hello world', dimensions: 8, encoding_format: 'base64' })
    const bytes = Buffer.from(encoded.data[0]!.embedding as string, 'base64')
    const decoded = [...new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)]
    expect(decoded).toHaveLength(8)
    expect(Math.hypot(...decoded)).toBeCloseTo(1, 5)
    const refused = await fetch(`${provider(id).baseUrl}/embeddings`, { method: 'POST', body: JSON.stringify({ model: 'demo-embed', input: [1, 2] }) })
    expect(refused.status).toBe(400)
  })
})

describe('dev catalog', () => {
  it('is a valid catalog of the fleet, two demo chat models and a demo embedding model', () => {
    const parsed = CatalogSchema.parse(devCatalog(fleet.providers))
    expect(parsed.providers.map((p) => p.id)).toEqual(fleet.providers.map((p) => p.id))
    expect(parsed.providers.find((p) => p.format === 'anthropic')?.headers).toEqual({ 'anthropic-version': '2023-06-01' })
    expect(parsed.models.map((m) => [m.id, m.endpoints.length])).toEqual([['meridian/demo-chat', 3], ['meridian/demo-mini', 2], ['meridian/demo-embed', 2]])
    const prices = parsed.models[0]?.endpoints.map((e) => e.pricing.prompt)
    expect(new Set(prices).size).toBe(3)
  })
})

describe('FLEET_CHAOS', () => {
  it('parses per-provider fault rates', () => {
    expect(parseFleetChaos('demo-us-east:dropRate=1')).toEqual({ 'demo-us-east': { dropRate: 1 } })
    expect(parseFleetChaos('demo-eu-central:rateLimitRate=0.3, demo-eu-central:latencyMs=200,demo-us-east:dropRate=1')).toEqual({
      'demo-eu-central': { rateLimitRate: 0.3, latencyMs: 200 },
      'demo-us-east': { dropRate: 1 },
    })
    expect(parseFleetChaos('')).toEqual({})
  })

  it.each(['demo-us-east:dropRate=2', 'nowhere:dropRate=1', 'demo-us-east:explodeRate=1', 'demo-us-east'])('refuses %s', (spec) => {
    expect(() => parseFleetChaos(spec)).toThrow(/FLEET_CHAOS/)
  })

  it('reads the fleet options from the environment', () => {
    expect(fleetOptionsFromEnv({ FLEET_BASE_PORT: '5000', FLEET_TTFT_MS: '0', FLEET_TPS: '100', FLEET_CHAOS: 'demo-us-east:dropRate=1' }))
      .toEqual({ basePort: 5000, ttftMs: 0, tokensPerSecond: 100, chaos: { 'demo-us-east': { dropRate: 1 } } })
  })

  it('makes a provider fail when configured', async () => {
    const broken = await startFleet({ basePort: 0, ttftMs: 0, chaos: parseFleetChaos('demo-us-east:dropRate=1') })
    try {
      const [usEast, euCentral] = broken.providers
      const ask = (p: FleetProvider | undefined, path: string) =>
        fetch(`${p?.baseUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'demo-chat', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
        })
      expect((await ask(usEast, '/chat/completions')).status).toBe(500)
      expect((await ask(euCentral, '/messages')).status).toBe(200)
    } finally {
      await broken.stop()
    }
  })
})

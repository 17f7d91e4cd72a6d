/// <reference types="node" />
import { OpenRouter } from '@openrouter/sdk'
import type { ChatResult, ChatStreamChunk, ChatUsage } from '@openrouter/sdk/models'
import { NotFoundResponseError, OpenRouterError, UnauthorizedResponseError } from '@openrouter/sdk/models/errors'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { ADMIN_TOKEN, ANTHROPIC_FORMAT_PROVIDER, MODEL, UNKNOWN_KEY, useMeridian } from './support/meridian'

/**
 * OpenRouter's official SDK (`@openrouter/sdk` 1.x) pointed at the gateway's `/api/v1` with
 * `serverURL`. It validates every response against OpenRouter's OpenAPI schema with zod, so each
 * call here is a strict conformance check of the gateway's wire format.
 */

const meridian = useMeridian()
let client: OpenRouter

const NO_RETRIES = { retries: { strategy: 'none' } } as const
const WEATHER_TOOL = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'] } },
}

const isStream = (result: ChatResult | AsyncIterable<ChatStreamChunk>): result is AsyncIterable<ChatStreamChunk> => Symbol.asyncIterator in result
function asResult(result: ChatResult | AsyncIterable<ChatStreamChunk>): ChatResult {
  if (isStream(result)) throw new Error('expected a JSON answer, got a stream')
  return result
}
function asStream(result: ChatResult | AsyncIterable<ChatStreamChunk>): AsyncIterable<ChatStreamChunk> {
  if (!isStream(result)) throw new Error('expected a stream, got a JSON answer')
  return result
}

beforeAll(() => {
  client = new OpenRouter({ serverURL: `${meridian().url}/api/v1`, apiKey: meridian().key, retryConfig: { strategy: 'none' } })
})

describe('@openrouter/sdk against the gateway (strict response validation)', () => {
  it('sends a chat request', async () => {
    const result = asResult(await client.chat.send({ chatRequest: { model: MODEL, messages: [{ role: 'user', content: 'Say hello' }] } }))
    expect(result.id).toMatch(/^gen-/)
    expect(result.object).toBe('chat.completion')
    expect(result.model).toBe(MODEL)
    expect(typeof result.systemFingerprint).toBe('string')
    const choice = result.choices[0]!
    expect(choice.finishReason).toBe('stop')
    expect(choice.message.content).toContain('Say hello')
    expect(result.usage!.completionTokens).toBeGreaterThan(0)
    expect(result.usage!.cost).toBeGreaterThan(0)
  })

  it('parses the routing metadata it asks for with xOpenRouterMetadata, answered whole or streamed', async () => {
    const result = asResult(await client.chat.send({ xOpenRouterMetadata: 'enabled', chatRequest: { model: MODEL, messages: [{ role: 'user', content: 'Say hello' }] } }))
    expect(result.openrouterMetadata).toMatchObject({ requested: MODEL, isByok: false, attempt: 1, summary: expect.stringContaining('Served by') })
    const stream = asStream(await client.chat.send({ xOpenRouterMetadata: 'enabled', chatRequest: { model: MODEL, messages: [{ role: 'user', content: 'Stream please' }], stream: true } }))
    let metadata: unknown
    for await (const chunk of stream) metadata ??= chunk.openrouterMetadata
    expect(metadata).toMatchObject({ requested: MODEL, isByok: false })
  })

  it('streams in pieces, the last chunk carrying usage and cost', async () => {
    const stream = asStream(await client.chat.send({ chatRequest: { model: MODEL, messages: [{ role: 'user', content: 'Stream please' }], stream: true } }))
    const pieces: string[] = []
    let usage: ChatUsage | undefined
    let finish: string | null = null
    for await (const chunk of stream) {
      expect(chunk.error).toBeUndefined()
      const choice = chunk.choices[0]
      if (choice?.delta.content) pieces.push(choice.delta.content)
      if (choice?.finishReason) finish = choice.finishReason
      if (chunk.usage) usage = chunk.usage
    }
    expect(pieces.length).toBeGreaterThan(5)
    expect(pieces.join('')).toContain('Stream please')
    expect(finish).toBe('stop')
    expect(usage!.completionTokens).toBeGreaterThan(0)
    expect(usage!.promptTokens).toBeGreaterThan(0)
    expect(usage!.cost).toBeGreaterThan(0)
  })

  it('calls a tool', async () => {
    const result = asResult(
      await client.chat.send({ chatRequest: { model: MODEL, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL] } }),
    )
    const choice = result.choices[0]!
    expect(choice.finishReason).toBe('tool_calls')
    const call = choice.message.toolCalls![0]!
    expect(call.function.name).toBe('get_weather')
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'demo', days: 1 })

    const answer = asResult(
      await client.chat.send({
        chatRequest: {
          model: MODEL,
          tools: [WEATHER_TOOL],
          messages: [
            { role: 'user', content: 'Weather in Paris?' },
            { role: 'assistant', content: null, toolCalls: [call] },
            { role: 'tool', toolCallId: call.id, content: 'sunny, 21C' },
          ],
        },
      }),
    )
    expect(answer.choices[0]!.message.content).toContain('sunny, 21C')
  })

  it('streams a tool call from the Anthropic-format provider (provider.order)', async () => {
    const stream = asStream(
      await client.chat.send({
        chatRequest: {
          model: MODEL,
          messages: [{ role: 'user', content: 'Weather in Berlin?' }],
          tools: [WEATHER_TOOL],
          provider: { order: [ANTHROPIC_FORMAT_PROVIDER], allowFallbacks: false },
          stream: true,
        },
      }),
    )
    let name = ''
    let args = ''
    let finish: string | null = null
    let usage: ChatUsage | undefined
    for await (const chunk of stream) {
      const choice = chunk.choices[0]
      for (const call of choice?.delta.toolCalls ?? []) {
        name += call.function?.name ?? ''
        args += call.function?.arguments ?? ''
      }
      if (choice?.finishReason) finish = choice.finishReason
      if (chunk.usage) usage = chunk.usage
    }
    expect(finish).toBe('tool_calls')
    expect(name).toBe('get_weather')
    expect(JSON.parse(args)).toEqual({ city: 'demo', days: 1 })
    expect(usage!.cost).toBeGreaterThan(0)
  })

  it('surfaces gateway errors as the SDK’s own error types', async () => {
    const unknown = await client.chat.send({ chatRequest: { model: 'nobody/nothing', messages: [{ role: 'user', content: 'hi' }] } }, NO_RETRIES).catch((e: unknown) => e)
    expect(unknown).toBeInstanceOf(NotFoundResponseError)
    expect((unknown as NotFoundResponseError).statusCode).toBe(404)
    expect((unknown as NotFoundResponseError).error.code).toBe(404)
    expect((unknown as NotFoundResponseError).error.message).toContain('No endpoints found')

    const anonymous = new OpenRouter({ serverURL: `${meridian().url}/api/v1`, apiKey: UNKNOWN_KEY, retryConfig: { strategy: 'none' } })
    const unauthorized = await anonymous.chat.send({ chatRequest: { model: MODEL, messages: [{ role: 'user', content: 'hi' }] } }).catch((e: unknown) => e)
    expect(unauthorized).toBeInstanceOf(UnauthorizedResponseError)
    expect((unauthorized as OpenRouterError).statusCode).toBe(401)
  })
})

/** The rest of the API, through the same strict validation. */
describe('@openrouter/sdk reads the rest of the API (strict response validation)', () => {
  it('lists models', async () => {
    const page = await client.models.list()
    expect(page.result.data.map((model) => model.id)).toEqual([MODEL, 'meridian/demo-mini'])
  })

  it('pages through models.list() with a limit: every model once, and the iteration ends', async () => {
    const total = (await client.models.count()).data.count
    expect(total).toBe(2)
    const seen: string[] = []
    let pages = 0
    for await (const page of await client.models.list({ limit: 1 })) {
      seen.push(...page.result.data.map((model) => model.id))
      if (++pages >= 10) break // without this guard a listing that ignores limit never ends the SDK's iterator
    }
    expect(pages).toBeLessThanOrEqual(total + 1)
    expect(seen).toEqual([MODEL, 'meridian/demo-mini'])
  })

  it('gets one model with models.get() (GET /model/{author}/{slug})', async () => {
    const [author, slug] = MODEL.split('/') as [string, string]
    expect((await client.models.get({ author, slug })).data.id).toBe(MODEL)
  })

  it('lists the endpoints of a model', async () => {
    const [author, slug] = MODEL.split('/') as [string, string]
    const endpoints = await client.endpoints.list({ author, slug })
    expect(endpoints.data.endpoints.map((endpoint) => endpoint.providerName).sort()).toEqual(['Demo AP Southeast', 'Demo EU Central', 'Demo US East'])
  })

  it('reads the calling key', async () => {
    const key = await client.apiKeys.getCurrentKeyMetadata()
    expect(key.data.usage).toBeGreaterThanOrEqual(0)
  })

  it('reads a generation', async () => {
    const result = asResult(await client.chat.send({ chatRequest: { model: MODEL, messages: [{ role: 'user', content: 'Remember me' }] } }))
    // The record is written at settlement, just after the response: poll briefly, as clients must.
    const generation = await vi.waitFor(() => client.generations.getGeneration({ id: result.id }), { timeout: 5_000, interval: 100 })
    expect(generation.data.id).toBe(result.id)
    expect(generation.data.totalCost).toBeGreaterThan(0)
  })

  it('provisions keys with a management key: create, get, update, list, delete', async () => {
    const management = new OpenRouter({ serverURL: `${meridian().url}/api/v1`, apiKey: ADMIN_TOKEN, retryConfig: { strategy: 'none' } })
    // The credential itself, as management clients check it (the SDK validates the shape).
    expect((await management.apiKeys.getCurrentKeyMetadata()).data.isManagementKey).toBe(true)
    const created = await management.apiKeys.create({ requestBody: { name: 'sdk-made', limit: 2 } })
    expect(created.key).toMatch(/^sk-mer-v1-/)
    const { hash } = created.data
    expect((await management.apiKeys.get({ hash })).data).toMatchObject({ name: 'sdk-made', limit: 2 })
    expect((await management.apiKeys.update({ hash, requestBody: { name: 'sdk-renamed' } })).data.name).toBe('sdk-renamed')
    expect((await management.apiKeys.list({})).data.map((key) => key.hash)).toContain(hash)
    expect((await management.apiKeys.delete({ hash })).deleted).toBe(true)
  })

  it('sends a Responses API request, and streams one, every event typed', async () => {
    type Send = Parameters<typeof client.beta.responses.send>[0]
    const answer = (await client.beta.responses.send({ responsesRequest: { model: MODEL, input: 'Say hello' } } as Send)) as { status: string; completedAt: number | null }
    expect(answer.status).toBe('completed')
    expect(answer.completedAt).toBeGreaterThan(0)
    const stream = (await client.beta.responses.send({ responsesRequest: { model: MODEL, input: 'Stream please', stream: true } } as Send)) as unknown as AsyncIterable<{ type: string }>
    const types: string[] = []
    for await (const event of stream) types.push(event.type)
    expect(types).not.toContain('UNKNOWN')
    expect(types[0]).toBe('response.created')
    expect(types.at(-1)).toBe('response.completed')
  })

  it('counts the models', async () => {
    expect((await client.models.count()).data.count).toBe((await client.models.list()).result.data.length)
  })

  it('lists providers', async () => {
    const providers = await client.providers.list()
    expect(providers.data.map((provider) => provider.name).sort()).toEqual(['Demo AP Southeast', 'Demo EU Central', 'Demo US East'])
  })
})

/// <reference types="node" />
import { createOpenRouter, type OpenRouterProvider } from '@openrouter/ai-sdk-provider'
import { APICallError, generateText, streamText, tool, type ProviderMetadata } from 'ai'
import { beforeAll, describe, expect, it } from 'vitest'
import { itCallsTools, weather } from './support/ai-sdk'
import { ANTHROPIC_FORMAT_PROVIDER, MODEL, UNKNOWN_KEY, useMeridian } from './support/meridian'

/**
 * The AI SDK (`ai` 6) with `@openrouter/ai-sdk-provider` pointed at the gateway's `/api/v1`,
 * changing nothing but `baseURL` and the key. It never asks for usage in a stream and still reads
 * the final usage chunk into `providerMetadata.openrouter`.
 */

const meridian = useMeridian()
let openrouter: OpenRouterProvider

/** What the provider puts under `providerMetadata.openrouter`. */
type OpenRouterMetadata = {
  provider?: string
  usage: { promptTokens?: number; completionTokens?: number; totalTokens?: number; cost?: number }
}
const openrouterMetadata = (metadata: ProviderMetadata | undefined): OpenRouterMetadata =>
  (metadata?.openrouter as OpenRouterMetadata | undefined) ?? expect.fail('no providerMetadata.openrouter')

beforeAll(() => {
  openrouter = createOpenRouter({ baseURL: `${meridian().url}/api/v1`, apiKey: meridian().key })
})

describe('the AI SDK with @openrouter/ai-sdk-provider, unchanged', () => {
  it('generates text, with usage and cost in providerMetadata', async () => {
    const result = await generateText({ model: openrouter(MODEL), prompt: 'Say hello', maxRetries: 0 })
    expect(result.text).toContain('Say hello')
    expect(result.finishReason).toBe('stop')
    expect(result.usage.outputTokens).toBeGreaterThan(0)
    const metadata = openrouterMetadata(result.providerMetadata)
    expect(metadata.provider).toBe('Demo US East')
    expect(metadata.usage.completionTokens).toBe(result.usage.outputTokens)
    expect(metadata.usage.cost).toBeGreaterThan(0)
  })

  it('streams text in pieces, reading the final usage chunk it never asked for', async () => {
    const sent: unknown[] = []
    const recording: typeof fetch = (input, init) => {
      sent.push(JSON.parse(String(init?.body)))
      return fetch(input, init)
    }
    const watched = createOpenRouter({ baseURL: `${meridian().url}/api/v1`, apiKey: meridian().key, fetch: recording })
    const result = streamText({ model: watched(MODEL), prompt: 'Stream please', maxRetries: 0 })
    const pieces: string[] = []
    for await (const piece of result.textStream) pieces.push(piece)
    expect(sent[0]).not.toHaveProperty('stream_options')
    expect(sent[0]).not.toHaveProperty('usage')
    expect(pieces.length).toBeGreaterThan(5)
    expect(pieces.join('')).toContain('Stream please')
    expect(await result.finishReason).toBe('stop')
    const usage = await result.usage
    expect(usage.outputTokens).toBeGreaterThan(0)
    const metadata = openrouterMetadata(await result.providerMetadata)
    expect(metadata.usage.completionTokens).toBe(usage.outputTokens)
    expect(metadata.usage.promptTokens).toBeGreaterThan(0)
    expect(metadata.usage.cost).toBeGreaterThan(0)
  })

  itCallsTools(() => openrouter(MODEL))

  it('streams a tool call from the Anthropic-format provider (provider.order setting)', async () => {
    const model = openrouter(MODEL, { provider: { order: [ANTHROPIC_FORMAT_PROVIDER], allow_fallbacks: false } })
    const result = streamText({ model, prompt: 'Weather in Berlin?', tools: { weather }, maxRetries: 0 })
    const calls = await result.toolCalls
    expect(await result.finishReason).toBe('tool-calls')
    expect(calls[0]!.toolName).toBe('weather')
    expect(calls[0]!.input).toEqual({ city: 'demo', days: 1 })
    const metadata = openrouterMetadata(await result.providerMetadata)
    expect(metadata.provider).toBe('Demo EU Central')
    expect(metadata.usage.cost).toBeGreaterThan(0)
  })

  it('surfaces gateway errors as APICallError', async () => {
    const unknown = await generateText({ model: openrouter('nobody/nothing'), prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e)
    expect(APICallError.isInstance(unknown)).toBe(true)
    expect((unknown as APICallError).statusCode).toBe(404)
    expect((unknown as APICallError).message).toContain('No endpoints found')

    const anonymous = createOpenRouter({ baseURL: `${meridian().url}/api/v1`, apiKey: UNKNOWN_KEY })
    const unauthorized = await generateText({ model: anonymous(MODEL), prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e)
    expect(APICallError.isInstance(unauthorized)).toBe(true)
    expect((unauthorized as APICallError).statusCode).toBe(401)

    const errors: unknown[] = []
    const streamed = streamText({ model: openrouter('nobody/nothing'), prompt: 'hi', maxRetries: 0, onError: ({ error }) => void errors.push(error) })
    for await (const part of streamed.fullStream) void part
    expect(errors).toHaveLength(1)
    expect(APICallError.isInstance(errors[0])).toBe(true)
    expect((errors[0] as APICallError).statusCode).toBe(404)
  })
})

/// <reference types="node" />
import { createOpenAICompatible, type OpenAICompatibleProvider } from '@ai-sdk/openai-compatible'
import { APICallError, generateText, streamText, tool } from 'ai'
import { beforeAll, describe, expect, it } from 'vitest'
import { itCallsTools, weather } from './support/ai-sdk'
import { ANTHROPIC_FORMAT_PROVIDER, MODEL, UNKNOWN_KEY, useMeridian } from './support/meridian'

/**
 * The AI SDK (`ai` 6) with `@ai-sdk/openai-compatible` against the gateway's chat completions,
 * changing nothing but `baseURL` and the key. Without `includeUsage` it never asks for usage in a
 * stream; the gateway sends the usage chunk anyway.
 */

const meridian = useMeridian()
let meridianProvider: OpenAICompatibleProvider

/** The `cost` (USD) the gateway adds to OpenAI's usage, read from the SDK's raw usage. */
const costOf = (usage: { raw?: unknown }): number | undefined => (usage.raw as { cost?: number } | undefined)?.cost

beforeAll(() => {
  meridianProvider = createOpenAICompatible({ name: 'meridian', baseURL: `${meridian().url}/v1`, apiKey: meridian().key })
})

describe('the AI SDK with @ai-sdk/openai-compatible, unchanged', () => {
  it('generates text', async () => {
    const result = await generateText({ model: meridianProvider(MODEL), prompt: 'Say hello', maxRetries: 0 })
    expect(result.text).toContain('Say hello')
    expect(result.finishReason).toBe('stop')
    expect(result.usage.inputTokens).toBeGreaterThan(0)
    expect(result.usage.outputTokens).toBeGreaterThan(0)
    expect(costOf(result.usage)).toBeGreaterThan(0)
    expect(result.response.modelId).toBe(MODEL)
    expect(result.response.id).toMatch(/^gen-/)
  })

  it('streams text in pieces, ending with usage it did not ask for', async () => {
    const result = streamText({ model: meridianProvider(MODEL), prompt: 'Stream please', maxRetries: 0 })
    const pieces: string[] = []
    for await (const piece of result.textStream) pieces.push(piece)
    expect(pieces.length).toBeGreaterThan(5)
    expect(pieces.join('')).toContain('Stream please')
    expect(await result.finishReason).toBe('stop')
    const usage = await result.usage
    expect(usage.outputTokens).toBeGreaterThan(0)
    expect(usage.inputTokens).toBeGreaterThan(0)
    expect(costOf(usage)).toBeGreaterThan(0)
  })

  itCallsTools(() => meridianProvider(MODEL))

  it('streams a tool call from the Anthropic-format provider (provider.order via providerOptions)', async () => {
    const result = streamText({
      model: meridianProvider(MODEL),
      prompt: 'Weather in Berlin?',
      tools: { weather },
      providerOptions: { meridian: { provider: { order: [ANTHROPIC_FORMAT_PROVIDER], allow_fallbacks: false } } },
      includeRawChunks: true,
      maxRetries: 0,
    })
    const providers = new Set<string>()
    for await (const part of result.fullStream) {
      if (part.type === 'raw') {
        const raw = part.rawValue as { provider?: string }
        if (raw.provider) providers.add(raw.provider)
      }
    }
    expect([...providers]).toEqual(['Demo EU Central'])
    expect(await result.finishReason).toBe('tool-calls')
    const calls = await result.toolCalls
    expect(calls[0]!.toolName).toBe('weather')
    expect(calls[0]!.input).toEqual({ city: 'demo', days: 1 })
  })

  it('surfaces gateway errors as APICallError', async () => {
    const unknown = await generateText({ model: meridianProvider('nobody/nothing'), prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e)
    expect(APICallError.isInstance(unknown)).toBe(true)
    expect((unknown as APICallError).statusCode).toBe(404)
    expect((unknown as APICallError).message).toContain('No endpoints found')

    const anonymous = createOpenAICompatible({ name: 'meridian', baseURL: `${meridian().url}/v1`, apiKey: UNKNOWN_KEY })
    const unauthorized = await generateText({ model: anonymous(MODEL), prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e)
    expect(APICallError.isInstance(unauthorized)).toBe(true)
    expect((unauthorized as APICallError).statusCode).toBe(401)

    // A stream's failure arrives as an error part, not as a throw.
    const errors: unknown[] = []
    const streamed = streamText({ model: meridianProvider('nobody/nothing'), prompt: 'hi', maxRetries: 0, onError: ({ error }) => void errors.push(error) })
    for await (const part of streamed.fullStream) void part
    expect(errors).toHaveLength(1)
    expect(APICallError.isInstance(errors[0])).toBe(true)
    expect((errors[0] as APICallError).statusCode).toBe(404)
  })
})

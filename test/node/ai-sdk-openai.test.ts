/// <reference types="node" />
import { createOpenAI, type OpenAIProvider } from '@ai-sdk/openai'
import { generateText, streamText } from 'ai'
import { beforeAll, describe, expect, it } from 'vitest'
import { itCallsTools } from './support/ai-sdk'
import { MODEL, useMeridian } from './support/meridian'

/**
 * The AI SDK (`ai` 6) with `@ai-sdk/openai`, whose default `provider(id)` speaks OpenAI's Responses
 * API (POST /v1/responses), changing nothing but `baseURL` and the key. With store on (the SDK's
 * default) it sends earlier answers as references to stored items, which Meridian resolves; with
 * store off it sends them whole.
 */

const meridian = useMeridian()
let openai: OpenAIProvider

const stateless = { openai: { store: false } }

beforeAll(() => {
  openai = createOpenAI({ baseURL: `${meridian().url}/v1`, apiKey: meridian().key })
})

describe('the AI SDK with @ai-sdk/openai (Responses API), unchanged', () => {
  it('generates text, with usage', async () => {
    const result = await generateText({ model: openai(MODEL), system: 'Be brief.', prompt: 'Say hello', maxRetries: 0 })
    expect(result.text).toContain('Say hello')
    expect(result.finishReason).toBe('stop')
    expect(result.usage.inputTokens).toBeGreaterThan(0)
    expect(result.usage.outputTokens).toBeGreaterThan(0)
    expect(result.response.modelId).toBe(MODEL)
    expect(result.response.id).toMatch(/^gen-/)
  })

  it('streams text in pieces', async () => {
    const result = streamText({ model: openai(MODEL), prompt: 'Stream please', maxRetries: 0 })
    const pieces: string[] = []
    for await (const piece of result.textStream) pieces.push(piece)
    expect(pieces.length).toBeGreaterThan(5)
    expect(pieces.join('')).toContain('Stream please')
    expect(await result.finishReason).toBe('stop')
    expect((await result.usage).outputTokens).toBeGreaterThan(0)
  })

  itCallsTools(() => openai(MODEL))

  it('goes on with a conversation from an earlier answer, with store on (references) and off (whole items)', async () => {
    const first = await generateText({ model: openai(MODEL), prompt: 'Say hello', maxRetries: 0 })
    const messages = [{ role: 'user' as const, content: 'Say hello' }, ...first.response.messages, { role: 'user' as const, content: 'Again' }]
    for (const providerOptions of [{}, stateless]) {
      const again = await generateText({ model: openai(MODEL), messages, providerOptions, maxRetries: 0 })
      expect(again.text).toContain('Again')
    }
  })
})

import { describe, expect, it } from 'vitest'
import { importModelsDev, slugId } from '../../../src/catalog/sync/models-dev'
import fixture from '../../fixtures/models-dev.json'

const LLAMA = 'meta-llama/llama-3.3-70b-instruct'
const providers = ['groq', 'deepinfra', 'fireworks-ai', 'google', 'openai', 'anthropic'].map((source) => ({
  source,
  id: source === 'fireworks-ai' ? 'fireworks' : source,
}))
const aliases = {
  'groq/llama-3.3-70b-versatile': LLAMA,
  'deepinfra/meta-llama/Llama-3.3-70B-Instruct-Turbo': LLAMA,
  'fireworks-ai/accounts/fireworks/models/llama-v3p3-70b-instruct': LLAMA,
}
const imported = importModelsDev(fixture, { providers, aliases })
const modelNamed = (id: string) => imported.models.find((model) => model.id === id)

describe('importModelsDev', () => {
  it('imports only the selected providers, taking names, formats and presets but never where secrets go', () => {
    // The document's `api` (base URL) and `env` (key variable) are ignored: only the operator
    // decides which secret is sent to which host. The AI SDK package names the API's quirks.
    expect(imported.providers).toEqual([
      { id: 'groq', known: { name: 'Groq', format: 'openai', preset: 'groq' } },
      { id: 'deepinfra', known: { name: 'Deep Infra', format: 'openai', preset: 'deepinfra' } },
      { id: 'fireworks', known: { name: 'Fireworks AI', format: 'openai' } },
      { id: 'google', known: { name: 'Google', format: 'gemini' } },
      { id: 'openai', known: { name: 'OpenAI', format: 'openai', preset: 'openai' } },
      { id: 'anthropic', known: { name: 'Anthropic', format: 'anthropic' } },
    ])
    expect(imported.models.some((model) => model.id.startsWith('mistral/'))).toBe(false)
  })

  it('merges one open model served by three providers into one model through aliases', () => {
    const llama = modelNamed(LLAMA)
    expect(llama?.endpoints.map((e) => [e.provider, e.upstreamModel, e.pricing.prompt, e.pricing.completion, e.maxCompletionTokens])).toEqual([
      ['groq', 'llama-3.3-70b-versatile', '0.00000059', '0.00000079', 32768],
      ['deepinfra', 'meta-llama/Llama-3.3-70B-Instruct-Turbo', '0.00000013', '0.00000039', 16384],
      ['fireworks', 'accounts/fireworks/models/llama-v3p3-70b-instruct', '0.0000009', '0.0000009', 16384],
    ])
    expect(llama).toMatchObject({ name: 'Llama 3.3 70B Versatile', contextLength: 131072, created: 1733443200 })
  })

  const prices: [string, object][] = [
    ['groq/openai-gpt-oss-120b', { prompt: '0.00000015', completion: '0.00000075' }],
    ['fireworks-ai/accounts-fireworks-models-deepseek-v3', { prompt: '0.0000009', completion: '0.0000009', cacheRead: '0.00000045' }],
    ['google/gemini-1.5-flash-8b', { prompt: '0.0000000375', completion: '0.00000015', cacheRead: '0.00000001' }],
    ['openai/gpt-4o-mini', { prompt: '0.00000015', completion: '0.0000006', cacheRead: '0.000000075' }],
    ['anthropic/claude-3-5-haiku-20241022', { prompt: '0.0000008', completion: '0.000004', cacheRead: '0.00000008', cacheWrite: '0.000001' }],
  ]
  it.each(prices)('prices %s per token, exactly', (id, pricing) => {
    expect(modelNamed(id)?.endpoints[0]?.pricing).toEqual(pricing)
  })

  const shapes: [string, object][] = [
    ['google/gemini-2.0-flash', { contextLength: 1048576, modalities: { input: ['text', 'image', 'audio', 'video', 'file'], output: ['text'] } }],
    ['anthropic/claude-3-5-haiku-20241022', { contextLength: 200000, modalities: { input: ['text', 'image', 'file'], output: ['text'] } }],
    ['deepinfra/google-gemma-3-27b-it', { contextLength: 131072, modalities: { input: ['text', 'image'], output: ['text'] } }],
  ]
  it.each(shapes)('keeps the limits and modalities of %s (pdf becomes file)', (id, shape) => {
    expect(modelNamed(id)).toMatchObject(shape)
  })

  it('keeps a prompt limit below the context window (GPT-5: 272k of 400k) as the endpoint’s maxPromptTokens', () => {
    const gpt5 = { id: 'gpt-5', name: 'GPT-5', tool_call: true, modalities: { input: ['text'], output: ['text'] }, cost: { input: 1.25, output: 10 }, limit: { context: 400000, input: 272000, output: 128000 } }
    const whole = { ...gpt5, id: 'gpt-whole', limit: { context: 128000, input: 128000, output: 16384 } }
    const source = { openai: { id: 'openai', npm: '@ai-sdk/openai', name: 'OpenAI', models: { 'gpt-5': gpt5, 'gpt-whole': whole } } }
    const { models } = importModelsDev(source, { providers: [{ source: 'openai', id: 'openai' }], aliases: {} })
    expect(models.find((model) => model.id === 'openai/gpt-5')?.endpoints[0]).toMatchObject({ contextLength: 400000, maxPromptTokens: 272000, maxCompletionTokens: 128000 })
    expect(models.find((model) => model.id === 'openai/gpt-whole')?.endpoints[0]).not.toHaveProperty('maxPromptTokens')
  })

  it('derives the parameters an endpoint honours from the capability flags', () => {
    expect(modelNamed('groq/openai-gpt-oss-120b')?.endpoints[0]?.supportedParameters).toEqual([
      'max_tokens', 'temperature', 'tools', 'tool_choice', 'reasoning', 'include_reasoning',
    ])
    expect(modelNamed('deepinfra/google-gemma-3-27b-it')?.endpoints[0]?.supportedParameters).toEqual(['max_tokens', 'temperature'])
  })

  it('reports models without cost or limits, and providers the source lacks', () => {
    const result = importModelsDev(fixture, { providers: [{ source: 'groq', id: 'groq' }, { source: 'nowhere', id: 'nowhere' }] })
    expect(result.skipped).toEqual([
      { id: 'groq/whisper-large-v3', reason: 'no cost' },
      { id: 'groq/meta-llama/llama-guard-4-12b', reason: 'no limit' },
      { id: 'nowhere', reason: 'provider not in the source document' },
    ])
    expect(result.providers.map((p) => p.id)).toEqual(['groq'])
  })

  it('gives a merged model only the modalities every endpoint serves', () => {
    const result = importModelsDev(fixture, {
      providers: [{ source: 'groq', id: 'groq' }, { source: 'deepinfra', id: 'deepinfra' }],
      aliases: { 'groq/llama-3.3-70b-versatile': 'open/mix', 'deepinfra/google/gemma-3-27b-it': 'open/mix' },
    })
    expect(result.models.find((m) => m.id === 'open/mix')).toMatchObject({
      modalities: { input: ['text'], output: ['text'] },
      endpoints: [{ provider: 'groq' }, { provider: 'deepinfra' }],
    })
  })

  const badDocuments: [string, unknown, RegExp][] = [
    ['a list', [], /Invalid source document: /],
    ['a provider without models', { groq: { id: 'groq', name: 'Groq', models: 'none' } }, /Invalid source document: groq\.models: /],
  ]
  it.each(badDocuments)('refuses %s with a 400 naming the field', (_label, document, message) => {
    expect(() => importModelsDev(document, { providers: [{ source: 'groq', id: 'groq' }] })).toThrow(message)
  })
})

describe('slugId', () => {
  const cases: [string, string][] = [
    ['groq/llama-3.3-70b-versatile', 'groq/llama-3.3-70b-versatile'],
    ['deepinfra/meta-llama/Llama-3.3-70B-Instruct-Turbo', 'deepinfra/meta-llama-llama-3.3-70b-instruct-turbo'],
    ['cloudflare-workers-ai/@cf/meta/llama-3.1-8b', 'cloudflare-workers-ai/cf-meta-llama-3.1-8b'],
  ]
  it.each(cases)('%s → %s', (sourceId, id) => {
    expect(slugId(sourceId)).toBe(id)
  })
})

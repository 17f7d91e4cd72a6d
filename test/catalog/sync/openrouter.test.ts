import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../../src/errors'
import { importOpenRouter, OPENROUTER_PROVIDER } from '../../../src/catalog/sync/openrouter'
import fixture from '../../fixtures/openrouter-models.json'

const imported = importOpenRouter(fixture, { provider: 'openrouter' })
const modelNamed = (id: string) => imported.models.find((model) => model.id === id)

describe('importOpenRouter', () => {
  it('serves every model through the named provider, known as OpenRouter', () => {
    expect(imported.providers).toEqual([{ id: 'openrouter', known: OPENROUTER_PROVIDER }])
    expect(imported.models.map((model) => model.id)).toEqual([
      'openai/gpt-4o-mini',
      'anthropic/claude-3.5-haiku',
      'meta-llama/llama-3.3-70b-instruct',
      'meta-llama/llama-3.3-70b-instruct:free',
      'google/gemini-2.0-flash-001',
    ])
    expect(imported.models.flatMap((m) => m.endpoints.map((e) => [e.provider, e.upstreamModel]))).toEqual(
      imported.models.map((m) => ['openrouter', m.id]),
    )
  })

  const endpoints: [string, object][] = [
    ['openai/gpt-4o-mini', { pricing: { prompt: '0.00000015', completion: '0.0000006', cacheRead: '0.000000075' }, contextLength: 128000, maxCompletionTokens: 16384 }],
    ['anthropic/claude-3.5-haiku', { pricing: { prompt: '0.0000008', completion: '0.000004', cacheRead: '0.00000008', cacheWrite: '0.000001' }, maxCompletionTokens: 8192 }],
    // max_completion_tokens: null → bounded by the context window only
    ['meta-llama/llama-3.3-70b-instruct', { pricing: { prompt: '0.00000013', completion: '0.00000039' }, contextLength: 131072, maxCompletionTokens: 131072 }],
    ['meta-llama/llama-3.3-70b-instruct:free', { pricing: { prompt: '0', completion: '0' }, contextLength: 65536, maxCompletionTokens: 8192 }],
    ['google/gemini-2.0-flash-001', { pricing: { prompt: '0.0000001', completion: '0.0000004', cacheRead: '0.000000025', cacheWrite: '0.0000001833' } }],
  ]
  it.each(endpoints)('imports %s with exact prices and limits', (id, expected) => {
    expect(modelNamed(id)?.endpoints[0]).toMatchObject(expected)
  })

  it('keeps name, description, release time, modalities and parameters', () => {
    expect(modelNamed('openai/gpt-4o-mini')).toMatchObject({
      name: 'OpenAI: GPT-4o-mini',
      description: "GPT-4o mini is OpenAI's small model for fast, cheap tasks.",
      created: 1721260800,
      contextLength: 128000,
      modalities: { input: ['text', 'image', 'file'], output: ['text'] },
    })
    expect(modelNamed('google/gemini-2.0-flash-001')?.modalities.input).toEqual(['text', 'image', 'file', 'audio', 'video'])
    expect(modelNamed('openai/gpt-4o-mini')?.endpoints[0]?.supportedParameters).toContain('tool_choice')
  })

  it('reports what it skipped and why', () => {
    expect(imported.skipped).toEqual([
      { id: 'openrouter/auto', reason: expect.stringContaining('pricing.prompt "-1" is not a price') },
      { id: 'acme/clipmaker-1', reason: 'no modality Meridian serves (text->video)' },
      { id: 'acme/half-listed', reason: expect.stringContaining('pricing: ') },
    ])
  })

  it('renames through aliases, and refuses a second endpoint at the same provider', () => {
    const aliased = importOpenRouter(fixture, {
      provider: 'or-eu',
      aliases: { 'openai/gpt-4o-mini': 'openai/gpt-4o-mini-2024-07-18', 'meta-llama/llama-3.3-70b-instruct:free': 'meta-llama/llama-3.3-70b-instruct' },
    })
    expect(aliased.models.map((m) => m.id)).toContain('openai/gpt-4o-mini-2024-07-18')
    expect(aliased.models.find((m) => m.id === 'meta-llama/llama-3.3-70b-instruct')?.endpoints.map((e) => e.upstreamModel)).toEqual([
      'meta-llama/llama-3.3-70b-instruct',
    ])
    expect(aliased.skipped).toContainEqual({
      id: 'meta-llama/llama-3.3-70b-instruct:free',
      reason: 'meta-llama/llama-3.3-70b-instruct already has an endpoint at or-eu (meta-llama/llama-3.3-70b-instruct)',
    })
  })

  it('refuses a document that is not a model list with a 400 naming the field', () => {
    const attempt = () => importOpenRouter({ models: [] }, { provider: 'openrouter' })
    expect(attempt).toThrow(GatewayError)
    expect(attempt).toThrow(/Invalid source document: data: /)
  })
})

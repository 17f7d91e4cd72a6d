import { describe, expect, it } from 'vitest'
import defaultCatalog from '../../src/catalog/default.json'
import { CatalogSchema } from '../../src/catalog/schema'
import type { ChatRequest } from '../../src/formats/openai/request'
import { PRESETS, droppedFields, type PresetId } from '../../src/providers/presets'
import { applyFilters } from '../../src/routing/filters'
import { endpointWith, type ProviderFields } from './support'

const provider = (fields: Record<string, unknown>) => ({
  providers: [{ id: 'p', name: 'P', format: 'openai', baseUrl: 'https://p.test/v1', apiKeyEnv: 'P_KEY', region: { name: 'x', lat: 0, lon: 0 }, dataCollection: 'deny', ...fields }],
  models: [],
})

describe('catalog: preset and apiVersion', () => {
  it.each([
    { fields: { preset: 'groq' }, error: null },
    { fields: { preset: 'azure', apiVersion: '2025-04-01-preview' }, error: null },
    { fields: { preset: 'nope' }, error: 'providers.0.preset: Invalid option' },
    { fields: { preset: 'groq', format: 'anthropic' }, error: 'providers.0.preset: a preset applies to format "openai" only' },
    { fields: { apiVersion: '2024-10-21' }, error: 'providers.0.apiVersion: apiVersion applies to preset "azure" only' },
    { fields: { preset: 'openai', apiVersion: '2024-10-21' }, error: 'providers.0.apiVersion: apiVersion applies to preset "azure" only' },
    { fields: { preset: 'azure', apiVersion: '2024-10-21&x=1' }, error: 'providers.0.apiVersion: must be an API version' },
  ])('$fields', ({ fields, error }) => {
    const parsed = CatalogSchema.safeParse(provider(fields))
    const issues = (parsed.error?.issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    if (error === null) expect(issues).toEqual([])
    else expect(issues.join('\n')).toContain(error)
  })

  it("bundles providers at their preset's documented base URL", () => {
    const withPreset = CatalogSchema.parse(defaultCatalog).providers.filter((p) => p.preset)
    expect(withPreset.length).toBeGreaterThanOrEqual(9)
    for (const p of withPreset) expect(p.baseUrl, p.id).toBe(PRESETS[p.preset as PresetId].baseUrl)
  })
})

const base: ChatRequest = { model: 'x/y', messages: [{ role: 'user', content: 'hi' }] }

type Spec = { preset?: PresetId; format?: 'openai' | 'anthropic' }

describe('droppedFields', () => {
  it.each<{ fields: Spec; request: ChatRequest; dropped: string[] }>([
    { fields: {}, request: { ...base, top_k: 5, reasoning: { effort: 'low' } }, dropped: [] },
    { fields: { preset: 'openai' }, request: { ...base, top_k: 5, max_tokens: 9, reasoning: { effort: 'low' } }, dropped: ['top_k'] },
    { fields: { preset: 'openai' }, request: { ...base, reasoning: { enabled: true } }, dropped: ['reasoning'] },
    { fields: { preset: 'openai' }, request: { ...base, prompt_cache_key: 'k', prompt_cache_retention: '24h', some_new_param: 1 }, dropped: ['some_new_param'] },
    { fields: { preset: 'groq' }, request: { ...base, logprobs: true, temperature: 1, stop: null }, dropped: ['logprobs'] },
    { fields: { preset: 'mistral' }, request: { ...base, seed: 1, user: 'u' }, dropped: ['user'] },
    { fields: { preset: 'perplexity' }, request: { ...base, tools: [], temperature: 2 }, dropped: ['tools'] },
    // Other formats translate field by field; a preset (which the schema refuses there) changes nothing.
    { fields: { preset: 'cerebras', format: 'anthropic' }, request: { ...base, logit_bias: {} }, dropped: [] },
  ])('$fields drops $dropped', ({ fields, request, dropped }) => {
    expect(droppedFields({ format: 'openai', ...fields }, request)).toEqual(dropped)
  })
})

describe('require_parameters and presets', () => {
  const filter = (fields: ProviderFields, request: ChatRequest) => {
    const endpoint = endpointWith(fields)
    endpoint.spec.supportedParameters.push('logprobs', 'temperature', 'top_k')
    return applyFilters([endpoint], {
      request,
      preferences: { require_parameters: true },
      isLive: () => true,
    }).kept.length
  }

  it('filters out an endpoint whose preset drops a parameter the request uses', () => {
    expect(filter({ preset: 'groq' }, { ...base, logprobs: true })).toBe(0)
    expect(filter({ preset: 'openai' }, { ...base, top_k: 3 })).toBe(0)
  })

  it('keeps it when the preset sends the parameter, renamed or as is', () => {
    expect(filter({ preset: 'groq' }, { ...base, temperature: 0.2 })).toBe(1)
    expect(filter({}, { ...base, logprobs: true, top_k: 3 })).toBe(1)
  })

  it('ignores dropped fields that are not routing parameters', () => {
    expect(filter({ preset: 'mistral' }, { ...base, user: 'u' })).toBe(1)
  })
})

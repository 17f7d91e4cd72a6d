import type { CatalogInput } from '../../src/catalog/schema'

/**
 * The catalog most gateway tests run against: three live providers in three regions (two
 * OpenAI-format, one Anthropic-format) and one whose key secret is not set.
 */
export const ALPHA = 'http://127.0.0.1:9101/v1'
export const BETA = 'http://127.0.0.1:9102/v1'
export const GAMMA = 'http://127.0.0.1:9103/v1'
export const DARK = 'http://127.0.0.1:9104/v1'

const provider = (id: string, name: string, format: 'openai' | 'anthropic', baseUrl: string, apiKeyEnv = 'TEST_PROVIDER_KEY') => ({
  id,
  name,
  format,
  baseUrl,
  apiKeyEnv,
  headers: {},
  region: { name: id, lat: 0, lon: 0 },
  dataCollection: 'deny' as const,
})

const endpoint = (providerId: string, upstreamModel: string, prompt = '0.000001', completion = '0.000002') => ({
  provider: providerId,
  upstreamModel,
  pricing: { prompt, completion },
  maxCompletionTokens: 4096,
  supportedParameters: ['temperature', 'tools', 'response_format', 'structured_outputs', 'max_tokens', 'stop'],
  quantization: 'unknown' as const,
})

const model = (id: string, endpoints: ReturnType<typeof endpoint>[]) => ({
  id,
  name: id,
  contextLength: 128000,
  // Files too: a PDF reaches only a model that takes files (routing's file_input filter).
  modalities: { input: ['text' as const, 'image' as const, 'file' as const], output: ['text' as const] },
  endpoints,
})

export const testCatalog: CatalogInput = {
  version: 'test',
  providers: [
    provider('alpha', 'Alpha', 'openai', ALPHA),
    provider('beta', 'Beta', 'anthropic', BETA),
    provider('gamma', 'Gamma', 'openai', GAMMA),
    provider('dark', 'Dark', 'openai', DARK, 'DARK_PROVIDER_KEY'),
  ],
  models: [
    model('test/chat', [endpoint('alpha', 'alpha-chat'), endpoint('beta', 'claude-test'), endpoint('gamma', 'gamma-chat')]),
    model('test/claude', [endpoint('beta', 'claude-test', '0.000003', '0.000015')]),
    model('test/other', [endpoint('gamma', 'gamma-other')]),
    model('test/dark', [endpoint('dark', 'dark-model')]),
  ],
}

type EndpointInput = CatalogInput['models'][number]['endpoints'][number]

/** The test catalog with test/chat's model fields and endpoints changed (windows, prompt limits). */
export function withTestChat(change: { model?: Partial<CatalogInput['models'][number]>; endpoint: (endpoint: EndpointInput, index: number) => EndpointInput }): CatalogInput {
  return {
    ...testCatalog,
    models: testCatalog.models.map((model) => (model.id === 'test/chat' ? { ...model, ...change.model, endpoints: model.endpoints.map(change.endpoint) } : model)),
  }
}

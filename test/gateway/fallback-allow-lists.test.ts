import { describe, expect, it } from 'vitest'
import type { CatalogInput } from '../../src/catalog/schema'
import { chat, createKey, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * A `models` list whose endpoints outnumber a plain plan's candidates (32): the key's allow-lists,
 * applied at admission, must still find a fallback model far down it (docs/routing.md).
 */

const PROVIDERS = ['p1', 'p2', 'p3', 'p4']
const url = (provider: string) => `http://127.0.0.1:92${PROVIDERS.indexOf(provider) + 10}/v1`
const catalog: CatalogInput = {
  version: 'many',
  providers: PROVIDERS.map((id) => ({ id, name: id.toUpperCase(), format: 'openai' as const, baseUrl: url(id), apiKeyEnv: 'TEST_PROVIDER_KEY', headers: {}, region: { name: id, lat: 0, lon: 0 }, dataCollection: 'deny' as const })),
  models: Array.from({ length: 9 }, (_, i) => ({
    id: `test/m${i}`,
    name: `m${i}`,
    contextLength: 128000,
    modalities: { input: ['text' as const], output: ['text' as const] },
    endpoints: PROVIDERS.map((provider) => ({ provider, upstreamModel: `m${i}`, pricing: { prompt: '0.000001', completion: '0.000002' }, maxCompletionTokens: 4096, supportedParameters: ['max_tokens'], quantization: 'unknown' as const })),
  })),
}
setUpGateway(catalog)

describe('a models list and a key’s allow-list', () => {
  it('serves the one model of a nine-model list (36 endpoints) that the key may use', async () => {
    fakeUpstreams(Object.fromEntries(PROVIDERS.map((provider) => [url(provider), () => jsonResponse(openaiCompletion({ content: 'ok' }))])))
    const { key } = await createKey({ name: 'only m8', allowed_models: ['test/m8'] })
    const body = { model: 'test/m0', models: Array.from({ length: 8 }, (_, i) => `test/m${i + 1}`), messages: [{ role: 'user', content: 'hi' }] }
    const response = await chat(key, body)
    const text = await response.text()
    expect(response.status, text).toBe(200)
    expect(JSON.parse(text).model).toBe('test/m8')
  })
})

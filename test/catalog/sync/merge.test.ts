import { describe, expect, it } from 'vitest'
import { CatalogSchema, type ModelSpec } from '../../../src/catalog/schema'
import type { ImportResult } from '../../../src/catalog/sync/imported'
import { mergeCatalog } from '../../../src/catalog/sync/merge'
import { GatewayError } from '../../../src/errors'
import { testCatalog } from '../../support/catalog'

const current = CatalogSchema.parse(testCatalog)
const TOKYO = { name: 'tokyo', lat: 35.7, lon: 139.7 }

const model = (id: string, provider: string, upstreamModel: string): ModelSpec => ({
  id,
  name: id,
  description: '',
  created: 0,
  contextLength: 32000,
  modalities: { input: ['text'], output: ['text'] },
  endpoints: [{ provider, upstreamModel, pricing: { prompt: '0.0000001', completion: '0.0000002' }, contextLength: 32000, maxCompletionTokens: 8192, supportedParameters: [], quantization: 'unknown' }],
})

/** test/chat as the source lists it: like the catalog's, it reads images and files, so it joins the model. */
const seeing = (id: string, provider: string, upstreamModel: string): ModelSpec => ({ ...model(id, provider, upstreamModel), modalities: { input: ['text', 'image', 'file'], output: ['text'] } })

const importing = (providers: ImportResult['providers'], models: ModelSpec[]): ImportResult => ({ providers, models, skipped: [] })
const endpointsOf = (document: { models: ModelSpec[] }, id: string) =>
  document.models.find((m) => m.id === id)?.endpoints.map((e) => `${e.provider}:${e.upstreamModel}`)

describe('mergeCatalog', () => {
  it("uses the operator's provider as it is, whatever the source and options say", () => {
    const merged = mergeCatalog(
      current,
      importing([{ id: 'alpha', known: { name: 'Alpha from source', baseUrl: 'https://elsewhere.example/v1', format: 'anthropic' } }], [seeing('test/chat', 'alpha', 'alpha-chat-v2')]),
      { alpha: { region: TOKYO, dataCollection: 'allow', apiKeyEnv: 'OTHER_KEY' } },
    )
    expect(merged.document.providers).toEqual(current.providers)
    expect(merged.providers).toEqual([{ id: 'alpha', from: 'catalog', endpoints: 1 }])
  })

  it("replaces the synced provider's endpoints and leaves every other endpoint alone", () => {
    const merged = mergeCatalog(current, importing([{ id: 'gamma', known: {} }], [seeing('test/chat', 'gamma', 'gamma-chat-v2'), model('new/model', 'gamma', 'new-model')]))
    // the operator's own endpoints first, the synced one after
    expect(endpointsOf(merged.document, 'test/chat')).toEqual(['alpha:alpha-chat', 'beta:claude-test', 'gamma:gamma-chat-v2'])
    expect(endpointsOf(merged.document, 'test/claude')).toEqual(['beta:claude-test'])
    // served only by gamma and no longer listed by the source: gone
    expect(endpointsOf(merged.document, 'test/other')).toBeUndefined()
    expect(endpointsOf(merged.document, 'new/model')).toEqual(['gamma:new-model'])
    expect(merged.document.models.find((m) => m.id === 'test/chat')).toMatchObject({ name: 'test/chat', contextLength: 128000, modalities: { input: ['text', 'image', 'file'] } })
    expect({ models: merged.modelsImported, endpoints: merged.endpointsImported }).toEqual({ models: 2, endpoints: 2 })
  })

  it('keeps the auto pool, less a model the sync removed', () => {
    const pooled = CatalogSchema.parse({ ...testCatalog, auto: ['test/other', 'test/claude'] })
    const merged = mergeCatalog(pooled, importing([{ id: 'gamma', known: {} }], [model('new/model', 'gamma', 'new-model')]))
    expect(merged.document.auto).toEqual(['test/claude'])
    expect(mergeCatalog(current, importing([{ id: 'gamma', known: {} }], [])).document).not.toHaveProperty('auto')
  })

  it('drops endpoints at a provider neither the catalog nor the options define, saying what is missing', () => {
    const merged = mergeCatalog(current, importing([{ id: 'delta', known: { name: 'Delta', format: 'openai', apiKeyEnv: 'DELTA_KEY' } }], [model('delta/one', 'delta', 'one')]))
    expect(merged.document.models.map((m) => m.id)).toEqual(current.models.map((m) => m.id))
    expect(merged.document.providers).toEqual(current.providers)
    expect(merged.providers).toEqual([])
    expect(merged.skipped).toEqual([{ id: 'delta', reason: expect.stringMatching(/^provider not in the catalog and not defined by the sync options \(baseUrl: .*; region: .*\)$/) }])
  })

  it('adds a provider the options complete, with data collection "allow" unless told', () => {
    const merged = mergeCatalog(
      current,
      importing([{ id: 'delta', known: { name: 'Delta', format: 'openai', apiKeyEnv: 'DELTA_KEY' } }], [model('delta/one', 'delta', 'one')]),
      { delta: { baseUrl: 'https://api.delta.example/v1', region: TOKYO, headers: { 'x-org': 'meridian' } } },
    )
    expect(merged.document.providers.at(-1)).toEqual({
      id: 'delta', name: 'Delta', format: 'openai', baseUrl: 'https://api.delta.example/v1', apiKeyEnv: 'DELTA_KEY',
      headers: { 'x-org': 'meridian' }, region: TOKYO, dataCollection: 'allow',
    })
    expect(merged.providers).toEqual([{ id: 'delta', from: 'sync', endpoints: 1 }])
    expect(endpointsOf(merged.document, 'delta/one')).toEqual(['delta:one'])
  })

  it('refuses an invalid merge with a 400 naming the field', () => {
    const broken = model('test/new', 'alpha', 'x')
    broken.endpoints[0]!.pricing.prompt = '$1'
    const attempt = () => mergeCatalog(current, importing([{ id: 'alpha', known: {} }], [broken]))
    expect(attempt).toThrow(GatewayError)
    expect(attempt).toThrow(/models\[4\]\.endpoints\[0\]\.pricing\.prompt/)
  })
})

import { describe, expect, it } from 'vitest'
import bundled from '../../src/catalog/default.json'
import { CatalogSchema, type CatalogInput } from '../../src/catalog/schema'
import { compileCatalog } from '../../src/catalog/snapshot'
import { latestOf } from '../../src/routing/latest'
import { plan } from './fixtures'

const bundledCatalog = compileCatalog(CatalogSchema.parse(bundled))

/** A catalog of the given models, each served by one endpoint. */
function catalogOf(models: [id: string, created: number][]) {
  const document: CatalogInput = {
    providers: [{ id: 'p', name: 'P', format: 'openai', baseUrl: 'http://127.0.0.1/p', apiKeyEnv: 'KEY', region: { name: 'p', lat: 0, lon: 0 }, dataCollection: 'deny' }],
    models: models.map(([id, created]) => ({
      id,
      name: id,
      created,
      contextLength: 8000,
      modalities: { input: ['text'], output: ['text'] },
      endpoints: [{ provider: 'p', upstreamModel: id, pricing: { prompt: '0.000001', completion: '0.000001' }, maxCompletionTokens: 1000 }],
    })),
  }
  return compileCatalog(CatalogSchema.parse(document))
}

describe('~author/family-latest', () => {
  it('names the newest model of the family in the bundled catalog', () => {
    expect(latestOf('~anthropic/claude-opus-latest', bundledCatalog)).toBe('anthropic/claude-opus-5.5')
    expect(latestOf('~anthropic/claude-haiku-latest', bundledCatalog)).toBe('anthropic/claude-haiku-4.5')
    // 3.8 (created later) over 3.5; a version written v4.1 is a version too.
    expect(latestOf('~google/gemini-flash-latest', bundledCatalog)).toBe('google/gemini-3.8-flash')
    expect(latestOf('~deepseek/deepseek-flash-latest', bundledCatalog)).toBe('deepseek/deepseek-v4.1-flash')
  })

  it('goes by created, not by the version in the name; a variant is a family of its own; the author must match', () => {
    const catalog = catalogOf([
      ['acme/rocket-9', 100],
      ['acme/rocket-10', 300],
      ['acme/rocket-10.5', 200],
      ['acme/rocket-11-fast', 900],
      ['other/rocket-12', 999],
    ])
    expect(latestOf('~acme/rocket-latest', catalog)).toBe('acme/rocket-10')
    expect(latestOf('~acme/rocket-fast-latest', catalog)).toBe('acme/rocket-11-fast')
    expect(latestOf('~acme/jet-latest', catalog)).toBeNull()
    expect(latestOf('acme/rocket-latest', catalog)).toBeNull()
    expect(latestOf('~acme/rocket', catalog)).toBeNull()
  })

  it('breaks a tie of created by the later id', () => {
    expect(latestOf('~acme/rocket-latest', catalogOf([['acme/rocket-2', 5], ['acme/rocket-3', 5]]))).toBe('acme/rocket-3')
  })

  it('is planned as the model it resolves to, with a variant suffix too, and a 404 when nothing matches', () => {
    const catalog = catalogOf([['acme/rocket-1', 1], ['acme/rocket-2', 2]])
    const options = { catalog, isLive: () => true }
    expect(plan({ model: '~acme/rocket-latest' }, options).endpoints.map((e) => e.model.id)).toEqual(['acme/rocket-2'])
    expect(plan({ model: '~acme/rocket-latest:floor' }, options).endpoints.map((e) => e.model.id)).toEqual(['acme/rocket-2'])
    expect(() => plan({ model: '~acme/jet-latest' }, options)).toThrow(/not in the catalog/)
  })

  it('plans a model named twice, by its id and an alias or a variant, once', () => {
    const catalog = catalogOf([['acme/rocket-1', 1], ['acme/rocket-2', 2]])
    const options = { catalog, isLive: () => true }
    const models = (fields: object) => plan(fields, options).endpoints.map((e) => e.model.id)
    expect(models({ model: 'acme/rocket-2', models: ['~acme/rocket-latest', 'acme/rocket-1'] })).toEqual(['acme/rocket-2', 'acme/rocket-1'])
    expect(models({ model: 'acme/rocket-2', models: ['acme/rocket-2:nitro'] })).toEqual(['acme/rocket-2'])
  })
})

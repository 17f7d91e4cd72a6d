import { describe, expect, it } from 'vitest'
import defaultCatalog from '../../src/catalog/default.json'
import { parseUsd } from '../../src/catalog/pricing'
import { CatalogSchema } from '../../src/catalog/schema'
import { cachesPrompts } from '../../src/formats/bedrock/request'

/**
 * The bundled default is what every request is routed against until an operator stores a catalog,
 * so a slip in it (a free endpoint, an orphan provider, an output cap larger than the window) is a
 * production bug, not a typo.
 */

const parsed = CatalogSchema.safeParse(defaultCatalog)
const catalog = parsed.success ? parsed.data : CatalogSchema.parse(defaultCatalog) // throws with the issues

const endpoints = catalog.models.flatMap((model) =>
  model.endpoints.map((endpoint) => ({
    label: `${model.id} @ ${endpoint.provider}`,
    model,
    endpoint,
    contextLength: endpoint.contextLength ?? model.contextLength,
  })),
)

describe('bundled default catalog', () => {
  it('parses with CatalogSchema', () => {
    expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues, null, 2)).toBe(true)
  })

  it('is dated and non-trivial', () => {
    expect(catalog.version).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(catalog.providers.length).toBeGreaterThanOrEqual(10)
    expect(catalog.models.length).toBeGreaterThanOrEqual(15)
  })

  it('uses every provider in at least one endpoint', () => {
    const used = new Set(endpoints.map(({ endpoint }) => endpoint.provider))
    const unused = catalog.providers.map((provider) => provider.id).filter((id) => !used.has(id))
    expect(unused).toEqual([])
  })

  it('lists every model id once', () => {
    const ids = catalog.models.map((model) => model.id)
    const repeated = ids.filter((id, i) => ids.indexOf(id) !== i)
    expect(repeated).toEqual([])
  })

  it('lists each provider at most once per model', () => {
    const repeated = catalog.models.flatMap((model) => {
      const providers = model.endpoints.map((endpoint) => endpoint.provider)
      return providers.filter((id, i) => providers.indexOf(id) !== i).map((id) => `${model.id} @ ${id}`)
    })
    expect(repeated).toEqual([])
  })

  it('sends anthropic-version to every anthropic-format provider', () => {
    for (const provider of catalog.providers.filter((p) => p.format === 'anthropic')) {
      expect(provider.headers['anthropic-version'], provider.id).toBe('2023-06-01')
    }
  })

  it('gives every provider an https base URL without a trailing slash', () => {
    for (const provider of catalog.providers) {
      expect(provider.baseUrl, provider.id).toMatch(/^https:\/\/[^\s]+[^/]$/)
    }
  })

  describe.each(endpoints)('$label', ({ model, endpoint, contextLength }) => {
    it('charges for prompt and completion tokens', () => {
      expect(parseUsd(endpoint.pricing.prompt)).toBeGreaterThan(0n)
      // An embedding model produces no completion tokens, so it has no completion price.
      if (model.modalities.output.every((modality) => modality === 'embeddings')) return
      expect(parseUsd(endpoint.pricing.completion)).toBeGreaterThan(0n)
    })

    it('prices a cache read below an uncached prompt token, where Meridian marks cache points for it', () => {
      // Bedrock models Meridian caches for (src/formats/bedrock/request.ts) are billed cache reads at a discount.
      const cached = catalog.providers.find((provider) => provider.id === endpoint.provider)?.format === 'bedrock' && cachesPrompts(endpoint.upstreamModel)
      if (endpoint.pricing.cacheRead === undefined) return expect(cached).toBe(false)
      expect(parseUsd(endpoint.pricing.cacheRead)).toBeLessThan(parseUsd(endpoint.pricing.prompt))
    })

    it('caps completion tokens within its context window', () => {
      expect(endpoint.maxCompletionTokens).toBeLessThanOrEqual(contextLength)
    })
  })
})

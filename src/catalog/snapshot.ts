import { parsePricing, type Prices } from './pricing'
import type { CatalogDocument, EndpointSpec, ModelSpec, ProviderSpec } from './schema'

/**
 * A validated catalog compiled for the hot path: lookups by id and prices parsed once. Pure.
 */

export interface Endpoint {
  model: ModelSpec
  spec: EndpointSpec
  provider: ProviderSpec
  prices: Prices
  /** The endpoint's context window (its own, else the model's). */
  contextLength: number
  /** The most prompt tokens it takes (its own limit, else the whole window). */
  maxPromptTokens: number
}

/** How many tokens of prompt and max_tokens together the endpoint takes: its window, less where its prompt limit binds. Pure. */
export function contextWindow(endpoint: Endpoint, maxTokens: number | undefined): number {
  return Math.min(endpoint.contextLength, endpoint.maxPromptTokens + (maxTokens ?? 0))
}

export interface CatalogModel {
  spec: ModelSpec
  endpoints: Endpoint[]
}

export interface CatalogSnapshot {
  document: CatalogDocument
  providers: ReadonlyMap<string, ProviderSpec>
  models: ReadonlyMap<string, CatalogModel>
}

export function compileCatalog(document: CatalogDocument): CatalogSnapshot {
  const providers = new Map(document.providers.map((provider) => [provider.id, provider]))
  const models = new Map<string, CatalogModel>()
  for (const model of document.models) {
    const endpoints = model.endpoints.flatMap((spec): Endpoint[] => {
      const provider = providers.get(spec.provider)
      if (!provider) return [] // the schema rejects this; kept total for type safety
      const contextLength = spec.contextLength ?? model.contextLength
      return [{ model, spec, provider, prices: parsePricing(spec.pricing), contextLength, maxPromptTokens: Math.min(contextLength, spec.maxPromptTokens ?? contextLength) }]
    })
    models.set(model.id, { spec: model, endpoints })
  }
  return { document, providers, models }
}

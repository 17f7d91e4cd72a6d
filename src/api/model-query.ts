import { parseUsd } from '../catalog/pricing'
import type { CatalogModel, Endpoint } from '../catalog/snapshot'
import { GatewayError } from '../errors'
import { supports } from '../routing/filters'

/**
 * OpenRouter's GET /models query, as data: which models a list shows and in what order. Pure: the
 * route reads the query string into a ModelQuery, and listing applies it.
 */

export interface ModelQuery {
  /** Output modalities, one of which the model must have; `all` for any. */
  output: string[]
  /** Input modalities the model must all take. */
  input: string[]
  /** Parameters one listed endpoint of the model must all support (as routing's require_parameters needs), e.g. `tools`. */
  parameters: string[]
  /** Words the model's id, name or description must hold, each (case aside). */
  words: string[]
  /** Authors (the id's part before the slash), one of which the model's must be; none: any. */
  authors: string[]
  /** Providers, one of which must serve the model; none: any. */
  providers: string[]
  /** The least context window, in tokens. */
  minContext: number
  /** Bounds on the model's prompt and completion prices (its first listed endpoint's), in pico-USD per million tokens. */
  prompt: PriceRange
  completion: PriceRange
  /** Only models with an endpoint at a provider that keeps no data (`zdr=true`), as routing's `provider.zdr`. */
  zeroRetention: boolean
  sort: ModelSort
}

export interface PriceRange {
  min: bigint | null
  max: bigint | null
}

/**
 * The orders served. OpenRouter's other orders rest on data a gateway's catalog does not have (its
 * traffic: `most-popular`, `throughput-…`; benchmark scores: `intelligence-high-to-low`, …), and
 * its SDK's list of them is open: any other `sort` keeps the catalog's order, as none does.
 */
const SORTS = ['newest', 'pricing-low-to-high', 'pricing-high-to-low', 'context-high-to-low'] as const
export type ModelSort = (typeof SORTS)[number] | 'catalog'

/** A comma-separated query value as its items, the key repeated or not (none when absent). */
const listQuery = (values: string[] | undefined): string[] =>
  (values ?? []).join(',').split(',').map((item) => item.trim()).filter(Boolean)

/** Reads the query; a value it cannot read is a 400 naming it. */
export function modelQuery(query: (name: string) => string[] | undefined): ModelQuery {
  const one = (name: string) => query(name)?.find((value) => value.trim() !== '')?.trim()
  const context = one('context')
  if (context !== undefined && !/^\d{1,9}$/.test(context)) {
    throw new GatewayError(400, 'invalid_request', `context: must be a whole number of tokens, not "${context.slice(0, 40)}"`)
  }
  /** A price in USD per million tokens, as OpenRouter's `min_price` and the like take it. */
  const price = (name: string): bigint | null => {
    const value = one(name)
    if (value === undefined) return null
    if (!/^\d{1,9}(\.\d{1,12})?$/.test(value)) throw new GatewayError(400, 'invalid_request', `${name}: must be a price in USD per million tokens, not "${value.slice(0, 40)}"`)
    return parseUsd(value)
  }
  const output = listQuery(query('output_modalities'))
  return {
    // An empty parameter asks nothing: the default, text.
    output: output.length > 0 ? output : ['text'],
    input: listQuery(query('input_modalities')),
    parameters: listQuery(query('supported_parameters')),
    words: (one('q') ?? '').toLowerCase().split(/\s+/).filter(Boolean),
    authors: listQuery(query('model_authors')).map((author) => author.toLowerCase()),
    providers: listQuery(query('providers')).map((provider) => provider.toLowerCase()),
    minContext: context === undefined ? 0 : Number(context),
    prompt: { min: price('min_price'), max: price('max_price') },
    completion: { min: price('min_output_price'), max: price('max_output_price') },
    zeroRetention: one('zdr') === 'true',
    sort: sortOf(one('sort')),
  }
}

function sortOf(value: string | undefined): ModelSort {
  return SORTS.find((known) => known === value) ?? 'catalog'
}

/** Whether the model, shown with `endpoints` (its listed ones, at least one), is one the query keeps. */
export function keeps(query: ModelQuery, { spec }: CatalogModel, endpoints: readonly Endpoint[]): boolean {
  const text = `${spec.id}\n${spec.name}\n${spec.description}`.toLowerCase()
  return (
    (query.output.includes('all') || spec.modalities.output.some((modality) => query.output.includes(modality))) &&
    query.input.every((wanted) => spec.modalities.input.some((modality) => modality === wanted)) &&
    endpoints.some((endpoint) => query.parameters.every((parameter) => supports(endpoint, parameter))) &&
    query.words.every((word) => text.includes(word)) &&
    (query.authors.length === 0 || query.authors.includes(spec.id.slice(0, spec.id.indexOf('/')))) &&
    (query.providers.length === 0 || endpoints.some((endpoint) => query.providers.includes(endpoint.provider.id))) &&
    Math.max(...endpoints.map((endpoint) => endpoint.contextLength)) >= query.minContext &&
    within(query.prompt, endpoints[0]!.prices.prompt) &&
    within(query.completion, endpoints[0]!.prices.completion) &&
    (!query.zeroRetention || endpoints.some((endpoint) => endpoint.provider.dataCollection === 'deny'))
  )
}

/** Whether a price per token (pico-USD) is within a range given per million tokens. */
function within(range: PriceRange, perToken: bigint): boolean {
  const perMillion = perToken * 1_000_000n
  return (range.min === null || perMillion >= range.min) && (range.max === null || perMillion <= range.max)
}

/** A listed model: the catalog's, with the endpoints it is shown with (the first one's prices are the model's). */
export interface Listed {
  model: CatalogModel
  endpoints: readonly Endpoint[]
}

/** The models in the query's order; ties (and `catalog`) keep the catalog's. */
export function sortModels<T extends Listed>(query: ModelQuery, listed: T[]): T[] {
  const compare = comparator(query.sort)
  return compare ? [...listed].sort(compare) : listed
}

function comparator(sort: ModelSort): ((a: Listed, b: Listed) => number) | null {
  const price = (entry: Listed) => entry.endpoints[0]!.prices
  const window = (entry: Listed) => Math.max(...entry.endpoints.map((endpoint) => endpoint.contextLength))
  // By the average of the prompt and completion prices, as OpenRouter's SDK documents these orders.
  const byPrice = (a: Listed, b: Listed) => compareBig(price(a).prompt + price(a).completion, price(b).prompt + price(b).completion)
  switch (sort) {
    case 'newest':
      return (a, b) => b.model.spec.created - a.model.spec.created
    case 'pricing-low-to-high':
      return byPrice
    case 'pricing-high-to-low':
      return (a, b) => byPrice(b, a)
    case 'context-high-to-low':
      return (a, b) => window(b) - window(a)
    case 'catalog':
      return null
  }
}

const compareBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0)

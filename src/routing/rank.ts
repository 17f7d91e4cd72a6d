import type { ChatRequest } from '../formats/openai/request'
import { honoursSoftParameters } from './filters'
import { latencyCutoffOf, namesProvider, throughputCutoffOf, type ProviderPreferences, type SortBy } from './preferences'
import type { Scored } from './score'
import { rendezvous, type Sticky } from './sticky'

/**
 * Orders scored endpoints. Pure, with randomness injected. Precedence, strongest first:
 * 1. tier: endpoints with an open circuit or cooling after a 429 go last;
 * 2. `provider.order`: the named providers first, in that order;
 * 3. soft preferences: endpoints missing `preferred_max_latency`, `preferred_min_throughput` or
 *    (without require_parameters) `response_format` support move behind the others;
 * 4. the sort: `price`, `throughput`, `latency`, or by default the score (nearest healthy), where
 *    endpoints within `tieBandMs` of the best score are shuffled, weighted by 1/score², so equals
 *    share load. The band is absolute: 10 ms is about 1,000 km of fibre, so geography still decides
 *    between regions while endpoints in one region (or with noisy latency) share traffic. When one
 *    of the equals discounts cached prompts, the shuffle is the conversation's (sticky.ts), so a
 *    conversation keeps to the provider that holds its cache.
 */

export interface RankOptions {
  sort: SortBy | null
  preferences: ProviderPreferences | null
  request: ChatRequest
  random: () => number
  /** Endpoints scoring within this many milliseconds of the best are treated as equals. */
  tieBandMs: number
  /** The request's conversation (null: it has none), asked for only when equals are ordered and one caches prompts; null: never sticky. */
  sticky: (() => Sticky | null) | null
}

function metric(s: Scored, sort: SortBy | null): number {
  switch (sort) {
    case 'price':
      return s.price.prompt + s.price.completion
    case 'throughput':
      return -s.tokensPerSecond
    case 'latency':
      return s.expectedMs
    default:
      return s.score
  }
}

function missesSoftPreferences(s: Scored, options: RankOptions): boolean {
  const maxLatencySeconds = latencyCutoffOf(options.preferences?.preferred_max_latency)
  const minThroughput = throughputCutoffOf(options.preferences?.preferred_min_throughput)
  if (maxLatencySeconds !== null && s.expectedMs > maxLatencySeconds * 1000) return true
  if (minThroughput !== null && s.tokensPerSecond < minThroughput) return true
  return options.preferences?.require_parameters !== true && !honoursSoftParameters(s.endpoint, options.request)
}

/** Position in `provider.order`; unnamed providers come after all named ones (finite, so keys subtract). */
function orderIndex(s: Scored, order: string[] | null | undefined): number {
  if (!order) return 0
  const index = order.findIndex((slug) => namesProvider(slug, s.endpoint.provider))
  return index === -1 ? order.length : index
}

export function rank(scored: Scored[], options: RankOptions): Scored[] {
  const order = options.preferences?.order
  const keyed = scored.map((s) => ({
    s,
    key: [s.tier, orderIndex(s, order), missesSoftPreferences(s, options) ? 1 : 0, metric(s, options.sort), s.score] as const,
  }))
  keyed.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) {
      const d = a.key[i]! - b.key[i]!
      if (d !== 0) return d
    }
    return 0
  })
  const ranked = keyed.map((k) => k.s)
  if (options.sort !== null || order) return ranked
  return spreadTies(ranked, keyed.map((k) => k.key), options)
}

/** Shuffles the leading group of equals (same tier and softness, score within the band). */
function spreadTies(ranked: Scored[], keys: (readonly number[])[], options: RankOptions): Scored[] {
  const first = keys[0]
  if (!first || options.tieBandMs <= 0) return ranked
  let end = 1
  while (
    end < ranked.length &&
    keys[end]![0] === first[0] &&
    keys[end]![2] === first[2] &&
    ranked[end]!.score <= ranked[0]!.score + options.tieBandMs
  ) {
    end++
  }
  if (end === 1) return ranked
  const pool = ranked.slice(0, end)
  const sticky = options.sticky && pool.some(cachesPrompts) ? options.sticky() : null
  const ordered = sticky ? rendezvous(pool, sticky, (s) => s.key) : weightedShuffle(pool, options.random)
  return [...ordered, ...ranked.slice(end)]
}

/** Equals share load in inverse proportion to their score squared. */
function weightOf(s: Scored): number {
  return 1 / Math.max(s.score, 1) ** 2
}

/** An endpoint whose cached prompt tokens cost less than fresh ones: keeping to it saves money. */
function cachesPrompts(s: Scored): boolean {
  return s.endpoint.prices.cacheRead < s.endpoint.prices.prompt
}

function weightedShuffle(pool: Scored[], random: () => number): Scored[] {
  const shuffled: Scored[] = []
  while (pool.length > 0) {
    const weights = pool.map(weightOf)
    let pick = random() * weights.reduce((a, b) => a + b, 0)
    let index = 0
    while (index < pool.length - 1 && pick >= weights[index]!) {
      pick -= weights[index]!
      index++
    }
    shuffled.push(pool.splice(index, 1)[0]!)
  }
  return shuffled
}

import * as z from 'zod'
import { Quantization } from '../catalog/schema'

/**
 * OpenRouter's `provider` preferences object and model variants (`:nitro`, `:floor`), parsed at
 * the boundary. Unknown fields are accepted (clients send newer ones) and ignored.
 */

const Percentiles = z.looseObject({
  p50: z.number().positive().optional(),
  p75: z.number().positive().optional(),
  p90: z.number().positive().optional(),
  p99: z.number().positive().optional(),
})

export const SortBy = z.enum(['price', 'throughput', 'latency'])
export type SortBy = z.infer<typeof SortBy>

/**
 * OpenRouter's `exacto` (a quality-first sort for tool calling, in its SDK's enum) is accepted.
 * Meridian has no quality figures, so it ranks such a request as it ranks one with no sort.
 */
const SortAsked = z.enum([...SortBy.options, 'exacto'])

/** USD, as a number or as the decimal string OpenRouter's SDK sends (`"1.5"`). */
const Usd = z.union([z.number(), z.string().regex(/^\d+(\.\d+)?([eE][+-]?\d+)?$/, 'must be a decimal number').transform(Number)]).pipe(z.number().nonnegative())

/**
 * A list preference that an empty list leaves unset: a settings screen with nothing chosen sends
 * `[]`, which as `quantizations` would refuse every provider, and as `order` (with
 * `allow_fallbacks: false`) every provider but none. `only` is not one: an empty allow-list leaves
 * nothing, a 404, as OpenRouter's intersection of allow-lists does.
 */
function unlessEmpty<T extends z.ZodType>(item: T) {
  return z
    .array(item)
    .nullable()
    .transform((list) => (list && list.length > 0 ? list : null))
    .optional()
}

export const ProviderPreferences = z.looseObject({
  order: unlessEmpty(z.string().min(1)),
  only: z.array(z.string().min(1)).nullish(),
  ignore: unlessEmpty(z.string().min(1)),
  allow_fallbacks: z.boolean().nullish(),
  require_parameters: z.boolean().nullish(),
  data_collection: z.enum(['allow', 'deny']).nullish(),
  zdr: z.boolean().nullish(),
  /** A restriction Meridian cannot keep (the catalog records no model's distillation terms): only `false` is taken. */
  enforce_distillable_text: z.literal(false, { error: 'must be false: the catalog records no model’s distillation terms, so Meridian cannot keep to them' }).nullish(),
  quantizations: unlessEmpty(Quantization),
  sort: z.union([SortAsked, z.looseObject({ by: SortAsked.nullish(), partition: z.enum(['model', 'none']).nullish() })]).nullish(),
  /** USD per million tokens (prompt, completion) and per request. */
  max_price: z
    .looseObject({
      prompt: Usd.nullish(),
      completion: Usd.nullish(),
      request: Usd.nullish(),
    })
    .nullish(),
  /** Seconds to first token (a number means p50). */
  preferred_max_latency: z.union([z.number().positive(), Percentiles]).nullish(),
  /** Tokens per second (a number means p50). */
  preferred_min_throughput: z.union([z.number().positive(), Percentiles]).nullish(),
})
export type ProviderPreferences = z.infer<typeof ProviderPreferences>

export interface Variant {
  /** The catalog id without a recognised suffix. */
  modelId: string
  /** `:nitro` sorts by throughput, `:floor` by price; `:exacto` as no sort (see SortAsked). */
  sort: SortBy | null
}

const VARIANT_SORT = new Map<string, SortBy | null>([
  ['nitro', 'throughput'],
  ['floor', 'price'],
  ['exacto', null],
])

/** Splits `author/slug:nitro` into the model id and the sort it asks for. */
export function parseVariant(id: string, exists: (id: string) => boolean): Variant {
  if (exists(id)) return { modelId: id, sort: null }
  const colon = id.lastIndexOf(':')
  const suffix = colon > 0 ? id.slice(colon + 1) : ''
  const sort = VARIANT_SORT.get(suffix)
  return sort === undefined ? { modelId: id, sort: null } : { modelId: id.slice(0, colon), sort }
}

/**
 * `allow_fallbacks: false` without an `order`: each model is tried at its first-ranked provider
 * the key may use, with no backup provider (the next model of `models` is still a fallback). With
 * an `order`, the provider_order filter keeps the providers it names instead.
 */
export function primaryOnly(preferences: ProviderPreferences | null | undefined): boolean {
  return preferences?.allow_fallbacks === false && !preferences.order
}

/** The sort asked for, and its partition: `provider.sort`'s own, else the deprecated `route`'s (`sort` means across models). */
export function sortOf(
  preferences: ProviderPreferences | null | undefined,
  route: 'fallback' | 'sort' | null | undefined,
): { by: SortBy | null; partition: 'model' | 'none' } {
  const sort = preferences?.sort
  const partition = route === 'sort' ? 'none' : 'model'
  if (!sort) return { by: null, partition }
  if (typeof sort === 'string') return { by: ranked(sort), partition }
  return { by: sort.by ? ranked(sort.by) : null, partition: sort.partition ?? partition }
}

function ranked(asked: z.infer<typeof SortAsked>): SortBy | null {
  return asked === 'exacto' ? null : asked
}

/** The p50 (or the only) value of a throughput preference. */
/**
 * The throughput an endpoint's typical (p50) figure must reach: a number is the p50 cutoff; of
 * percentile cutoffs, the highest, since throughput percentiles fall from p50 on, so a p50 below
 * any pN's cutoff means that pN misses it too ("all specified cutoffs must be met").
 */
export function throughputCutoffOf(preference: number | z.infer<typeof Percentiles> | null | undefined): number | null {
  const cutoffs = cutoffsOf(preference)
  return cutoffs.length > 0 ? Math.max(...cutoffs) : null
}

/**
 * The latency an endpoint's typical (p50) figure must not pass: a number is the p50 cutoff; of
 * percentile cutoffs, the lowest, since a p50 above any pN's cutoff means that pN misses it too.
 */
export function latencyCutoffOf(preference: number | z.infer<typeof Percentiles> | null | undefined): number | null {
  const cutoffs = cutoffsOf(preference)
  return cutoffs.length > 0 ? Math.min(...cutoffs) : null
}

function cutoffsOf(preference: number | z.infer<typeof Percentiles> | null | undefined): number[] {
  if (preference == null) return []
  if (typeof preference === 'number') return [preference]
  return [preference.p50, preference.p75, preference.p90, preference.p99].filter((cutoff): cutoff is number => cutoff !== undefined)
}

/** `order`/`only`/`ignore` name a provider by id or display name, case-insensitively. */
export function namesProvider(slug: string, provider: { id: string; name: string }): boolean {
  const wanted = slug.toLowerCase()
  return wanted === provider.id.toLowerCase() || wanted === provider.name.toLowerCase()
}

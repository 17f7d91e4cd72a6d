import { Hono, type Context } from 'hono'
import { usdString } from '../catalog/pricing'
import type { CatalogModel, Endpoint } from '../catalog/snapshot'
import { currentCatalog } from '../catalog/store'
import { secretNamed, type Env } from '../env'
import { GatewayError } from '../errors'
import { keeps, modelQuery, sortModels, type ModelQuery } from './model-query'
import type { EndpointSnapshot } from '../health/health-do'
import { publishedHealth } from '../health/snapshot'
import { servesModel } from '../routing/filters'
import { modelNamed } from '../routing/latest'
import { parseVariant } from '../routing/preferences'
import { allowsEndpoint } from '../tenancy/policy'
import { requireTenant, usableKey } from './auth'
import type { AppEnv } from './context'

/**
 * The public catalog in OpenRouter's shape: GET /models, /models/count, /models/{id},
 * /model/{author}/{slug}, /embeddings/models and /models/{author}/{slug}/endpoints; and GET /models/user, the models the
 * calling key may use.
 */
export const models = new Hono<AppEnv>()

/** The last instant a Date holds (ECMAScript's ±8.64e15 ms); a catalog's `created` past it is shown as it. */
const LAST_DATE_SECONDS = 8.64e12

/** Live (its provider's key is set), and able to serve its model (a model that only embeds, at a provider whose embeddings are not built, is not). */
const isServing = (env: Env, endpoint: Endpoint) => secretNamed(env, endpoint.provider.apiKeyEnv) !== undefined && servesModel(endpoint)

/**
 * As on OpenRouter, `?output_modalities=` (comma-separated, or `all`) picks the models listed;
 * without it only text models are, so embedding models stay out of chat model pickers.
 * `?input_modalities=` and `?supported_parameters=` (e.g. `tools`) keep the models that take every
 * one listed; `q`, `model_authors`, `providers`, `context` and `sort` as ./model-query reads them.
 */
models.get('/models', async (c) => modelList(c, await listedModels(c, queried(c), () => true)))

/** How many models GET /models lists, with the same filters (OpenRouter's SDK: `models.count()`). */
models.get('/models/count', async (c) => c.json({ data: { count: (await listedModels(c, queried(c), () => true)).length } }))

/**
 * GET /models as the calling key sees it: only the models its `allowed_models` allow, each with
 * only the providers its `allowed_providers` allow (a model left with none is not listed).
 */
models.get('/models/user', requireTenant, async (c) => {
  const { policy } = (await usableKey(c.env, c.get('keyHash'), c.get('clock')())).record
  return modelList(c, await listedModels(c, queried(c), (endpoint) => allowsEndpoint(policy, endpoint.model.id, endpoint.provider.id)))
})

/** OpenRouter's list of embedding models: GET /models?output_modalities=embeddings by another name. */
models.get('/embeddings/models', async (c) => modelList(c, await listedModels(c, { ...queried(c), output: ['embeddings'] }, () => true)))

/** OpenRouter's page size when `offset` or `limit` asks for pages, and the most one may hold. */
const PAGE_DEFAULT = 500
const PAGE_MAX = 1000

/**
 * A list of models. Paging is opt-in, as on OpenRouter: without `offset`, `limit` or Anthropic's
 * `after_id`/`before_id` one page holds the whole list. `total_count` counts the whole list;
 * `links.next` is the next page's path, and `has_more`, `first_id` and `last_id` are Anthropic's
 * page, which its SDK's `models.list()` reads.
 */
function modelList(c: Context<AppEnv>, all: Array<{ id: string }>): Response {
  const { start, end, size } = pageOf(c, all)
  const data = all.slice(start, end)
  const next = new URL(c.req.url)
  next.searchParams.delete('after_id')
  next.searchParams.delete('before_id')
  next.searchParams.set('offset', String(end))
  next.searchParams.set('limit', String(size))
  return c.json({
    object: 'list',
    data,
    total_count: all.length,
    links: { next: end < all.length ? `${next.pathname}${next.search}` : null },
    has_more: c.req.query('before_id') ? start > 0 : end < all.length,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  })
}

/** The page's bounds in the list, and its size as asked: all of it unless paging is asked for (an empty parameter asks nothing). */
function pageOf(c: Context<AppEnv>, all: Array<{ id: string }>): { start: number; end: number; size: number } {
  const asked = (name: string) => c.req.query(name) || undefined
  const [offset, limit, after, before] = [asked('offset'), asked('limit'), asked('after_id'), asked('before_id')]
  if (offset === undefined && limit === undefined && after === undefined && before === undefined) return { start: 0, end: all.length, size: PAGE_DEFAULT }
  const size = limit === undefined ? PAGE_DEFAULT : count('limit', limit, 1, PAGE_MAX)
  const indexOf = (name: string, id: string) => {
    const index = all.findIndex((model) => model.id === id)
    if (index < 0) throw new GatewayError(400, 'invalid_request', `${name}: "${id.slice(0, 100)}" is not a model of this list`)
    return index
  }
  if (before !== undefined) {
    const end = indexOf('before_id', before)
    return { start: Math.max(0, end - size), end, size }
  }
  const start = after !== undefined ? indexOf('after_id', after) + 1 : offset === undefined ? 0 : count('offset', offset, 0, Number.MAX_SAFE_INTEGER)
  return { start: Math.min(start, all.length), end: Math.min(start + size, all.length), size }
}

function count(name: string, value: string, min: number, max: number): number {
  const parsed = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN
  if (!(parsed >= min && parsed <= max)) {
    throw new GatewayError(400, 'invalid_request', `${name}: must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, not "${value.slice(0, 40)}"`)
  }
  return parsed
}

const queried = (c: Context<AppEnv>): ModelQuery => modelQuery((name) => c.req.queries(name))

/** The catalog's models with at least one serving endpoint, `usable` besides, that the query keeps, in its order; each shown with those endpoints. */
async function listedModels(c: Context<AppEnv>, query: ModelQuery, usable: (endpoint: Endpoint) => boolean) {
  const catalog = await currentCatalog(c.env, (p) => c.executionCtx.waitUntil(p), c.get('clock')())
  const listed = [...catalog.models.values()].flatMap((model) => {
    const endpoints = model.endpoints.filter((endpoint) => isServing(c.env, endpoint) && usable(endpoint))
    return endpoints.length > 0 && keeps(query, model, endpoints) ? [{ model, endpoints }] : []
  })
  return sortModels(query, listed).map(({ model, endpoints }) => {
    const { endpoints: _internal, ...view } = modelView(model, endpoints)
    return view
  })
}

/**
 * One model, as the list shows it: what OpenAI's SDK calls for `models.retrieve` (`GET
 * /models/{model}`, the id percent-encoded) and clients that join the id into the path as is. A
 * latest alias (`~author/family-latest`) shows the model it names now, as routing would pick it,
 * and a variant (`:nitro`, `:floor`, `:exacto`) the model it sorts.
 */
async function shownModel(c: Context<AppEnv>, id: string) {
  const catalog = await currentCatalog(c.env, (p) => c.executionCtx.waitUntil(p), c.get('clock')())
  const { modelId } = parseVariant(id, (candidate) => modelNamed(candidate, catalog) !== undefined)
  const model = modelNamed(modelId, catalog)
  const live = model?.endpoints.filter((endpoint) => isServing(c.env, endpoint)) ?? []
  if (!model || live.length === 0) throw new GatewayError(404, 'not_found', `No model "${id}" in the catalog`)
  const { endpoints: _internal, ...view } = modelView(model, live)
  return view
}

models.get('/models/:id', async (c) => c.json(await shownModel(c, c.req.param('id'))))
models.get('/models/:author/:slug', async (c) => c.json(await shownModel(c, `${c.req.param('author')}/${c.req.param('slug')}`)))
/** OpenRouter's single model (its SDK's `models.get()`): the same model, inside `data`. */
models.get('/model/:author/:slug', async (c) => c.json({ data: await shownModel(c, `${c.req.param('author')}/${c.req.param('slug')}`) }))

models.get('/models/:author/:slug/endpoints', async (c) => {
  const now = c.get('clock')()
  const id = `${c.req.param('author')}/${c.req.param('slug')}`
  const catalog = await currentCatalog(c.env, (p) => c.executionCtx.waitUntil(p), now)
  const model = modelNamed(id, catalog)
  if (!model) throw new GatewayError(404, 'not_found', `No model "${id}" in the catalog`)
  const health = await publishedHealth(c.env, now)
  const { endpoints: _all, ...summary } = modelView(model, model.endpoints)
  return c.json({
    data: {
      ...summary,
      endpoints: model.endpoints.map((endpoint) => endpointView(endpoint, isServing(c.env, endpoint), health[`${model.spec.id}@${endpoint.provider.id}`])),
    },
  })
})

/** The formats whose usage breaks out cache writes kept an hour, charged at their own price (an OpenAI-format upstream's are charged at cacheWrite). */
const HOUR_WRITES_APART: ReadonlySet<string> = new Set(['anthropic', 'bedrock'])

function pricingView(endpoint: Endpoint) {
  const pricing = endpoint.spec.pricing
  return {
    prompt: pricing.prompt,
    completion: pricing.completion,
    request: pricing.request ?? '0',
    image: '0',
    web_search: '0',
    internal_reasoning: '0',
    ...(pricing.cacheRead ? { input_cache_read: pricing.cacheRead } : {}),
    ...(pricing.cacheWrite ? { input_cache_write: pricing.cacheWrite } : {}),
    // Charged for writes kept an hour: the catalog's price, or twice the prompt's (src/catalog/pricing.ts).
    ...(pricing.cacheWrite1h || HOUR_WRITES_APART.has(endpoint.provider.format) ? { input_cache_write_1h: usdString(endpoint.prices.cacheWrite1h) } : {}),
  }
}

/**
 * OpenRouter's model object, with OpenAI's `object` and `owned_by` (the author) beside, which
 * OpenAI's SDKs type as always present, and Anthropic's `type`, `display_name` and `created_at`,
 * which its SDK types so. Prices and limits shown are those of the first listed endpoint.
 */
function modelView(model: CatalogModel, endpoints: Endpoint[]) {
  const { spec } = model
  const first = endpoints[0]!
  return {
    id: spec.id,
    object: 'model',
    owned_by: spec.id.slice(0, spec.id.indexOf('/')),
    type: 'model',
    display_name: spec.name,
    created_at: new Date(Math.min(spec.created, LAST_DATE_SECONDS) * 1000).toISOString(),
    canonical_slug: spec.id,
    name: spec.name,
    created: spec.created,
    description: spec.description,
    context_length: Math.max(...endpoints.map((endpoint) => endpoint.contextLength)),
    architecture: {
      modality: `${spec.modalities.input.join('+')}->${spec.modalities.output.join('+')}`,
      input_modalities: spec.modalities.input,
      output_modalities: spec.modalities.output,
      tokenizer: 'Other',
      instruct_type: null,
    },
    pricing: pricingView(first),
    top_provider: {
      context_length: first.contextLength,
      max_completion_tokens: first.spec.maxCompletionTokens,
      is_moderated: false,
    },
    per_request_limits: null,
    supported_parameters: [...new Set(endpoints.flatMap((endpoint) => endpoint.spec.supportedParameters))].sort(),
    default_parameters: null,
    supported_voices: null,
    links: { details: `/api/v1/models/${spec.id}/endpoints` },
    endpoints,
  }
}

/**
 * OpenRouter's endpoint object with live health. `status`: 0 healthy, -1 half-open (being probed),
 * -2 cooling after a 429, -3 circuit open, -5 not live (no API key configured, or an embedding model at a provider whose embeddings are not built).
 */
function endpointView(endpoint: Endpoint, live: boolean, health: EndpointSnapshot | undefined) {
  const circuit = health?.circuit ?? 'closed'
  const cooling = health?.cooling_until != null
  const status = !live ? -5 : circuit === 'open' ? -3 : cooling ? -2 : circuit === 'half_open' ? -1 : 0
  return {
    name: `${endpoint.provider.name}: ${endpoint.model.name}`,
    model_id: endpoint.model.id,
    model_name: endpoint.model.name,
    provider_name: endpoint.provider.name,
    tag: endpoint.provider.id,
    region: endpoint.provider.region,
    context_length: endpoint.contextLength,
    max_completion_tokens: endpoint.spec.maxCompletionTokens,
    max_prompt_tokens: endpoint.maxPromptTokens,
    pricing: pricingView(endpoint),
    quantization: endpoint.spec.quantization,
    supported_parameters: endpoint.spec.supportedParameters,
    supports_implicit_caching: endpoint.spec.pricing.cacheRead !== undefined,
    supports_tool_choice: toolChoiceSupport(endpoint.spec.supportedParameters),
    status,
    live,
    circuit,
    cooling_until: health?.cooling_until ?? null,
    uptime_last_5m: health?.uptime_last_5m ?? null,
    uptime_last_30m: health?.uptime_last_30m ?? null,
    uptime_last_1d: health?.uptime_last_1d ?? null,
    latency_last_30m: health?.latency_last_30m ?? null,
    throughput_last_30m: health?.throughput_last_30m ?? null,
  }
}

/** Which `tool_choice` values the endpoint takes: all of them when it lists tool_choice, else only "none". */
function toolChoiceSupport(parameters: string[]) {
  const choosing = parameters.includes('tools') && parameters.includes('tool_choice')
  return { auto: parameters.includes('tools'), function: choosing, none: true, required: choosing }
}

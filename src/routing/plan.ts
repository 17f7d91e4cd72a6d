import type { ProviderSpec } from '../catalog/schema'
import { contextWindow, type CatalogSnapshot, type Endpoint } from '../catalog/snapshot'
import { GatewayError } from '../errors'
import { requestedMaxTokens, type ChatRequest } from '../formats/openai/request'
import { endpointKey, type HealthLookup, type HealthView } from '../health/types'
import { compressToFit, type Compression } from './compression'
import { AUTO_CANDIDATES, autoPool, AUTO_MODEL } from './auto'
import { applyFilters, type FilterStep } from './filters'
import { contextPromptTokens } from '../formats/openai/estimate'
import { modelNamed } from './latest'
import { parseVariant, primaryOnly, sortOf, type ProviderPreferences, type SortBy } from './preferences'
import { rank } from './rank'
import { scoreEndpoint, type Geo, type Scored } from './score'
import { conversationOf, type SessionHeader, type Sticky, type StickySource } from './sticky'

/**
 * Which endpoints to try, in order, and why. Pure: catalog, health, the client's location, the
 * clock and randomness all come in as data. Models are tried in the order requested (`model`,
 * then `models`), each with its endpoints ranked — unless `provider.sort.partition` is "none",
 * which ranks all models' endpoints together.
 */

export interface PlanInput {
  catalog: CatalogSnapshot
  request: ChatRequest
  preferences: ProviderPreferences | null
  isLive: (provider: ProviderSpec) => boolean
  health: HealthLookup
  /**
   * The client's location, read only when it can change the plan (more than one endpoint left to
   * rank by distance) or a trace is asked for: reading `request.cf` costs the runtime a parse of
   * the whole cf object (in `npm run bench:profile`, a one-endpoint model's planning fell from
   * 7.1% to 4.8% of the samples without it).
   */
  client: () => Geo | null
  /** The request's session header, read only when equals are ordered for a conversation (sticky.ts). */
  sessionHeader: () => SessionHeader | null
  /** Whether to build the routing trace (X-Meridian-Debug); RoutePlan.trace is null otherwise. */
  trace: boolean
  now: number
  random: () => number
  maxAttempts: number
  tieBandMs: number
  /** Attempts in the window before an error rate counts against an endpoint (CIRCUIT_MIN_SAMPLES). */
  minSamples: number
  /** HEALTH_STALE_MS: a latency figure older than this is renewed by one request (see `explores`). */
  staleMs: number
  /** Endpoints a request of this isolate is already renewing or probing (a stale figure counts as it is; a half-open circuit is avoided). */
  exploring: (key: string) => boolean
  /** ROUTING_MODE: the baselines ignore health and geography (`ordered`) or rank at random. */
  mode: 'nearest-healthy' | 'ordered' | 'random'
  /** What the client wants produced (FilterInput.output); chat text unless said. */
  output?: 'text' | 'embeddings' | 'count'
}

export interface TraceCandidate {
  position: number
  endpoint: string
  provider: string
  model: string
  distance_km: number | null
  network_ms: number
  ttfb_ms: number
  /** The TTFB is assumed, not observed: the endpoint's figure is stale and being renewed. */
  ttfb_assumed: boolean
  tokens_per_second: number
  error_rate: number
  circuit: string
  cooling_until: number | null
  expected_latency_ms: number
  score: number
  price_per_million: { prompt: number; completion: number }
}

export interface RouteTrace {
  client: { latitude: number; longitude: number; colo: string | null } | null
  strategy: string
  /** What kept the conversation to its provider among equals (sticky.ts), or null when equals were shuffled at random. */
  sticky: StickySource | null
  requested_models: string[]
  filtered: FilterStep[]
  /** How the prompt was shortened to fit (compression.ts), or null when it was sent whole. */
  compressed: Compression | null
  candidates: TraceCandidate[]
}

export interface RoutePlan {
  endpoints: Endpoint[]
  /** What to send: the client's request, or it shortened to fit a window (compression.ts). */
  request: ChatRequest
  /**
   * The endpoint this request tries first to renew its stale latency figure, or as the probe of its
   * half-open circuit, or null. The caller marks it as being explored, so that one request at a
   * time pays for the renewal, or waits on a provider that may still be failing.
   */
  explores: string | null
  /** Null unless PlanInput.trace asked for it. */
  trace: RouteTrace | null
}

export function requestedModels(request: ChatRequest): string[] {
  const ids = [request.model, ...(request.models ?? [])].filter((id): id is string => typeof id === 'string')
  return [...new Set(ids)]
}

export function planRoute(input: PlanInput): RoutePlan {
  const { catalog, preferences } = input
  const asked = input.request
  const requested = requestedModels(asked)
  if (requested.length === 0) {
    throw new GatewayError(400, 'invalid_request', 'Invalid request: model: required (or give "models")', {
      issues: [{ path: 'model', message: 'required' }],
    })
  }
  // A model named twice (`x` and `x:nitro`, or an alias and the model it names) is planned once, where first named.
  const seen = new Set<string>()
  const variants = requested.map((id) => parseVariant(id, (candidate) => catalog.models.has(candidate)))
  // The Auto Router's id names its pool (auto.ts), unless the catalog has a model of that id.
  const isAuto = (modelId: string) => modelId === AUTO_MODEL && !catalog.models.has(AUTO_MODEL)
  const resolved = variants.flatMap((variant) =>
    (isAuto(variant.modelId) ? autoPool(catalog, asked) : [modelNamed(variant.modelId, catalog)]).flatMap((model) => {
      if (!model || seen.has(model.spec.id)) return []
      seen.add(model.spec.id)
      return [{ model, sort: variant.sort }]
    }),
  )
  if (resolved.length === 0 && variants.some((variant) => isAuto(variant.modelId))) {
    throw new GatewayError(404, 'not_found', 'No models match your request and model restrictions (the auto pool, less what the auto-router plugin leaves out)', {
      requested_models: requested,
    })
  }
  if (resolved.length === 0) {
    // OpenAI's code for it, which the Responses route's errors carry.
    throw new GatewayError(404, 'not_found', `No endpoints found for model ${quoted(requested)}: not in the catalog`, {
      code: 'model_not_found',
      requested_models: requested,
    })
  }
  const { by: preferredSort, partition } = sortOf(preferences, asked.route)
  // A variant (`:nitro`, `:floor`) sorts the model it is named on; across models, the first one's.
  const sortOfGroup = (group: number): SortBy | null => preferredSort ?? (partition === 'none' ? resolved[0]! : resolved[group]!).sort
  const sort = sortOfGroup(0)

  const all = resolved.flatMap(({ model }) => model.endpoints)
  const { request, kept, funnel, compressed } = fitted(all, input, requested)

  const informed = input.mode === 'nearest-healthy'
  // With one endpoint left there is nothing to rank by distance: its score only feeds the trace.
  const client = input.trace || (informed && kept.length > 1) ? input.client() : null
  const views = new Map(kept.map((endpoint) => [endpoint, informed ? input.health(endpointKey(endpoint.model.id, endpoint.provider.id)) : undefined]))
  // Optimism under uncertainty: an endpoint never seen, or unobserved for `staleMs` (say, shunned
  // since a latency spike), is assumed as fast as the best fresh one, so that one request tries it
  // and renews its figure, instead of a stale estimate that no traffic would ever correct. With
  // traffic sparser than `staleMs`, the best endpoint observed in the window is the reference.
  const isStale = (view: HealthView | undefined) => !view || view.samples === 0 || view.lastSeen === null || input.now - view.lastSeen >= input.staleMs
  const bestOf = (keep: (view: HealthView) => boolean) => {
    const figures = [...views.values()].flatMap((view) => (view && view.ttfbMs !== null && keep(view) ? [view.ttfbMs] : []))
    return figures.length > 0 ? Math.min(...figures) : null
  }
  const bestFreshTtfbMs = bestOf((view) => !isStale(view)) ?? bestOf((view) => view.samples > 0)
  const assumedTtfbOf = (endpoint: Endpoint) =>
    isStale(views.get(endpoint)) && !input.exploring(endpointKey(endpoint.model.id, endpoint.provider.id)) ? bestFreshTtfbMs : null
  const scoreOf = (endpoint: Endpoint) =>
    scoreEndpoint(
      endpoint,
      views.get(endpoint),
      informed ? client : null,
      input.now,
      input.minSamples,
      informed ? assumedTtfbOf(endpoint) : null,
      informed && input.exploring(endpointKey(endpoint.model.id, endpoint.provider.id)),
    )
  // Without health or geography every score is equal: `ordered` keeps catalog order (no band),
  // `random` makes the whole field one band, shuffled with equal weights.
  const tieBandMs = input.mode === 'ordered' ? 0 : input.mode === 'random' ? Number.POSITIVE_INFINITY : input.tieBandMs
  // Only the health-informed mode keeps a conversation to its provider: the baselines stay as they are.
  const memo: { sticky?: Sticky | null; first?: StickySource } = {}
  const conversation = () => (memo.sticky === undefined ? (memo.sticky = conversationOf(request, input.sessionHeader())) : memo.sticky)
  // The trace names the key when it ordered the first model's equals (the ones tried first).
  const stickyFor = (group: number) => () => {
    const sticky = conversation()
    if (group === 0 && sticky) memo.first = sticky.source
    return sticky
  }
  const options = (group: number) => ({ sort: sortOfGroup(group), preferences, request, random: input.random, tieBandMs, sticky: informed ? stickyFor(group) : null })
  const groups: Scored[][] =
    partition === 'none'
      ? [kept.map(scoreOf)]
      : resolved.map(({ model }) => kept.filter((endpoint) => endpoint.model === model.spec).map(scoreOf))
  // An auto pool, a list of models, or a plan that keeps one provider a model (`allow_fallbacks:
  // false`, applied at admission among what the key may use): the key's allow-lists may leave only
  // endpoints far down it (a fallback model the key may use behind eight it may not).
  const wide = resolved.length > 1 || variants.some((variant) => isAuto(variant.modelId)) || primaryOnly(preferences)
  const cap = wide ? Math.max(input.maxAttempts, AUTO_CANDIDATES) : input.maxAttempts
  // Models in their order, each one's endpoints ranked; a model whose every endpoint is avoided
  // (circuit open, being probed, cooling) goes behind those with one usable, so a hanging primary
  // holds up its probe, not every request of a `models` list or an auto pool.
  const rankedGroups = groups.map((group, index) => rank(group, options(index)))
  const usable = (group: Scored[]) => group.some((scored) => scored.tier === 0)
  const ranked = [...rankedGroups.filter(usable), ...rankedGroups.filter((group) => !usable(group))].flat().slice(0, cap)

  const first = ranked[0]
  return {
    endpoints: ranked.map((s) => s.endpoint),
    request,
    // A stale figure being renewed, or a half-open circuit being probed: one request at a time (a
    // request that ranks a circuit already being probed first, pinned to it, is not its probe).
    explores: first?.ttfbAssumed || (first?.circuit === 'half_open' && !(informed && input.exploring(first.key))) ? first.key : null,
    trace: input.trace
      ? {
          client: client ? { latitude: client.lat, longitude: client.lon, colo: client.colo } : null,
          strategy: preferences?.order ? 'order' : sort ? `sort:${sort}` : input.mode,
          sticky: memo.first ?? null,
          requested_models: requested,
          filtered: funnel,
          compressed,
          candidates: ranked.map(traceCandidate),
        }
      : null,
  }
}

/**
 * The endpoints the request's needs and preferences leave. When its prompt was too long for all of
 * them, and compression is on for it, the prompt shortened to fit the largest window it removed
 * that a later filter (max_tokens, tools, images) keeps: the windows are tried largest first.
 */
function fitted(all: Endpoint[], input: PlanInput, requested: string[]) {
  const filter = (request: ChatRequest) => applyFilters(all, { request, preferences: input.preferences, isLive: input.isLive, output: input.output })
  const asked = input.request
  const first = filter(asked)
  if (first.kept.length > 0) return { request: asked, ...first, compressed: null }
  const maxTokens = requestedMaxTokens(asked)
  const removed = lastRemoved(all, first.funnel, 'context_length')
  const windows = [...new Set(removed.map((endpoint) => contextWindow(endpoint, maxTokens)))].sort((a, b) => b - a)
  // Compression's default (on for small models) goes by the models' windows, not by prompt limits.
  const largest = Math.max(...removed.map((endpoint) => endpoint.contextLength))
  for (const window of windows) {
    const shortened = compressToFit(asked, window, largest)
    if (!shortened) continue
    const again = filter(shortened.request)
    if (again.kept.length > 0) return { request: shortened.request, ...again, compressed: shortened.compression }
  }
  throw noEndpoints(requested, all, first.funnel, asked)
}

/** The endpoints the funnel's last step removed, if that step is `filter`. */
function lastRemoved(all: Endpoint[], funnel: FilterStep[], filter: string): Endpoint[] {
  const last = funnel.at(-1)
  if (last?.filter !== filter) return []
  return all.filter((endpoint) => last.removed.includes(endpointKey(endpoint.model.id, endpoint.provider.id)))
}

function traceCandidate(s: Scored, position: number): TraceCandidate {
  const round = (value: number) => Math.round(value * 100) / 100
  return {
    position,
    endpoint: s.key,
    provider: s.endpoint.provider.id,
    model: s.endpoint.model.id,
    distance_km: s.distanceKm === null ? null : Math.round(s.distanceKm),
    network_ms: round(s.networkMs),
    ttfb_ms: round(s.ttfbMs),
    ttfb_assumed: s.ttfbAssumed,
    tokens_per_second: round(s.tokensPerSecond),
    error_rate: round(s.errorRate),
    circuit: s.circuit,
    cooling_until: s.coolingUntil,
    expected_latency_ms: round(s.expectedMs),
    score: round(s.score),
    price_per_million: { prompt: round(s.price.prompt), completion: round(s.price.completion) },
  }
}

/**
 * Explains an empty plan. A request too large for every endpoint left is the client's to shorten:
 * 400, `context_length_exceeded` as when a provider refuses it (clients compact or trim on that),
 * or `invalid_request` for a max_tokens no endpoint can return. 503 when only missing API keys
 * removed everything; else 404 with the funnel.
 */
function noEndpoints(requested: string[], all: Endpoint[], funnel: FilterStep[], request: ChatRequest): GatewayError {
  const metadata = {
    requested_models: requested,
    endpoints_total: all.length,
    routing_funnel: funnel.map((step) => ({ filter: step.filter, removed: step.removed.length, endpoints: step.removed })),
  }
  if (funnel.length === 1 && funnel[0]!.filter === 'missing_api_key') {
    const missing = [...new Set(all.map((endpoint) => endpoint.provider.apiKeyEnv))]
    return new GatewayError(
      503,
      'provider_unavailable',
      // Named by the models found: a name in `models` that is no model was skipped, not keyless.
      `No provider is available for ${quoted([...new Set(all.map((endpoint) => endpoint.model.id))])}: none of its providers has a usable API key configured`,
      { ...metadata, missing_secrets: missing },
    )
  }
  const last = funnel.at(-1)!
  const failed = { ...metadata, failed_routing_step: last.filter }
  const removed = lastRemoved(all, funnel, last.filter)
  const maxTokens = requestedMaxTokens(request)
  if (last.filter === 'context_length') {
    const prompt = contextPromptTokens(request)
    const largest = Math.max(...removed.map((endpoint) => contextWindow(endpoint, maxTokens)))
    const total = prompt + (maxTokens ?? 0)
    const parts = maxTokens === undefined ? `about ${prompt} in the messages` : `about ${prompt} in the messages, ${maxTokens} for max_tokens`
    // OpenAI's wording, which clients that compact or trim a conversation look for. The window is
    // the largest among the endpoints the request's own preferences left.
    return new GatewayError(
      400,
      'context_length_exceeded',
      `This model's maximum context length is ${largest} tokens. However, you requested about ${total} tokens (${parts}). Please reduce the length of the messages or max_tokens.`,
      { ...failed, prompt_tokens_estimate: prompt, max_tokens: maxTokens ?? null, max_context_length: largest },
    )
  }
  if (last.filter === 'max_tokens') {
    const most = Math.max(...removed.map((endpoint) => endpoint.spec.maxCompletionTokens))
    return new GatewayError(400, 'invalid_request', `max_tokens ${maxTokens} is more than ${quoted(requested)} can return (at most ${most})`, {
      ...failed,
      max_completion_tokens: most,
    })
  }
  return new GatewayError(404, 'not_found', `No endpoints found that ${last.explains} for ${quoted(requested)}`, failed)
}

function quoted(ids: string[]): string {
  return ids.map((id) => `"${id}"`).join(', ')
}


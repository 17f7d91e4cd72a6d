import { Hono, type Context } from 'hono'
import type { Endpoint } from '../catalog/snapshot'
import { currentCatalog } from '../catalog/store'
import { configOf } from '../config'
import { GatewayError } from '../errors'
import { secretNamed, type Env } from '../env'
import { requestedBetas } from '../formats/anthropic/betas'
import { ChatCompletionsRequest, fromChatCompletions } from '../formats/openai/functions'
import type { ChatRequest } from '../formats/openai/request'
import { admit, settle, type RequestFacts } from '../gateway/accounting'
import { complete } from '../gateway/complete'
import { offThePath, type ExecutionContext } from '../gateway/context'
import { newGeneration } from '../gateway/identity'
import { keepReserved } from '../gateway/renewal'
import { chatRenderer, type Renderer } from '../gateway/renderer'
import { streamCompletion } from '../gateway/stream'
import { clearExploring, isExploring, markExploring } from '../health/local'
import { reportObservations } from '../health/report'
import { currentHealth } from '../health/snapshot'
import { planRoute, requestedModels, type PlanInput, type RoutePlan } from '../routing/plan'
import { currentPresets } from '../routing/preset-store'
import { presetReference, withPreset, type PresetReference } from '../routing/presets'
import { geoFromCf } from '../routing/score'
import { sessionHeaderOf } from '../routing/sticky'
import { keysTrace, requireTenant } from './auth'
import { readJsonBody } from './body'
import type { AppEnv } from './context'

/**
 * POST /chat/completions: validate → plan (in memory: catalog, health, the client's location) →
 * admit (the one Durable Object call, or a ticket) → execute → settle and report health in waitUntil.
 */
export const chat = new Hono<AppEnv>()

/** Candidates a plan carries into admission; the key's object keeps MAX_ATTEMPTS of those it allows. */
const PLANNED_CANDIDATES = 32

/** X-Meridian-Debug: route, or OpenRouter's X-OpenRouter-Metadata: enabled, asks for the routing trace. */
export function wantsTrace(headers: Headers): boolean {
  return headers.get('x-meridian-debug')?.toLowerCase() === 'route' || headers.get('x-openrouter-metadata')?.toLowerCase() === 'enabled'
}

chat.post('/chat/completions', requireTenant, async (c) => {
  const { request, answer } = fromChatCompletions(await readJsonBody(c, ChatCompletionsRequest, 'request'))
  return serveChat(c, request, chatRenderer(answer))
})

/**
 * Serves a validated canonical request, answering in the renderer's wire format. Every inference
 * route (chat completions, Anthropic messages) goes through here, so routing, quotas, settlement
 * and health behave the same whatever the client spoke.
 */
export async function serveChat(c: Context<AppEnv>, asked: ChatRequest, renderer: Renderer): Promise<Response> {
  const { env } = c
  const clock = c.get('clock')
  const now = clock()
  const preset = presetReference(asked)
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise)
  const planned = preset ? await withStoredPreset(c, asked, preset, now) : asked
  const identity = newGeneration(now)
  // The trace reads the key's lists before admission: either failing gives the route's probe mark back (renewing).
  const admitted = (route: RoutePlan) =>
    renewing(env, route, (async () => {
      const trace = route.trace && (await keysTrace(c, route.trace, now))
      return { ...(await admit({ env, waitUntil, clientGone: c.req.raw.signal, clock }, c.get('keyHash'), { id: identity.id, now, request: route.request, plan: route.endpoints })), trace }
    })())
  let route = await planRequest(c, planned, now)
  c.set('admitting', true)
  let admission: Awaited<ReturnType<typeof admitted>>
  try {
    admission = await admitted(route)
  } catch (error) {
    // Planned for providers the key may not use (their larger windows fit the prompt, or it was
    // shortened for them), the request is planned again among those it may, whose windows may
    // need the prompt shortened further. The key's allow-lists are its object's: a refusal names them.
    const only = allowedOnly(error, planned)
    if (!only) throw error
    route = await planRequest(c, { ...planned, provider: { ...planned.provider, only } }, now).catch(() => {
      throw error
    })
    admission = await admitted(route)
  }
  // The plan's request: the client's, or it shortened to fit a window (routing/compression.ts).
  const { request } = route
  const { plan, reservation, costCapNano, tokenCap, trace } = admission
  const stream = request.stream === true
  const facts: RequestFacts = { id: identity.id, reservation, tokenCap, createdAt: now, modelRequested: requestedModels(request)[0] ?? '', streamed: stream, apiType: 'completions' }
  const hooks = engineHooks(c, facts)
  const betas = requestedBetas(c.req.raw.headers, hooks.config.ANTHROPIC_BETAS)
  const ctx: ExecutionContext = { ...hooks, request, plan, stream, betas, renderer, startedAt: now, trace, costCapNano, explores: explored(route, plan) }
  // A client that hangs up must not cancel the work: the upstream still bills the answer, and the
  // reservation must be settled with its real cost rather than expire and be charged in full.
  const answer = stream ? streamCompletion(ctx, identity, waitUntil) : complete(ctx, identity)
  waitUntil(answer)
  return answer
}

/**
 * The providers a refusal for the key's `allowed_providers` leaves the request (those it named
 * itself in `provider.only` too), or null: another refusal, or no provider left.
 */
function allowedOnly(error: unknown, request: ChatRequest): string[] | null {
  if (!(error instanceof GatewayError) || error.type !== 'permission_denied') return null
  const allowed = error.metadata.allowed_providers
  if (!Array.isArray(allowed) || !allowed.every((provider): provider is string => typeof provider === 'string')) return null
  const asked = request.provider?.only
  const only = asked ? allowed.filter((provider) => asked.some((name) => name.toLowerCase() === provider.toLowerCase())) : allowed
  return only.length > 0 ? only : null
}

/** The request with the defaults of the preset it names (routing/presets.ts); read only when one is named. */
export async function withStoredPreset(c: Context<AppEnv>, request: ChatRequest, reference: PresetReference, now: number): Promise<ChatRequest> {
  return withPreset(request, reference, await currentPresets(c.env, (promise) => c.executionCtx.waitUntil(promise), now))
}

/**
 * The engine's hooks for an admitted request, alike on every route: health reports, its one
 * settlement (in waitUntil), and the work kept off its answer's path.
 */
export function engineHooks(
  c: Context<AppEnv>,
  facts: RequestFacts,
): Pick<ExecutionContext, 'env' | 'config' | 'clock' | 'clientGone' | 'observe' | 'finish' | 'keepReserved' | 'later'> {
  const { env } = c
  const clock = c.get('clock')
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise)
  return {
    env,
    config: configOf(env),
    clock,
    clientGone: c.req.raw.signal,
    observe: (observation) => reportObservations(env, waitUntil, [observation]),
    finish: (outcome, at = clock()) => waitUntil(settle(env, c.get('keyHash'), facts, outcome, at)),
    keepReserved: (running, progress) => keepReserved({ env, waitUntil, clock }, c.get('keyHash'), facts.reservation, running, progress),
    later: offThePath(waitUntil),
  }
}

/**
 * Awaits a planned request's admission. If the plan renews a stale endpoint's figure but admission
 * refuses the request, or leaves that endpoint out of first place, the renewal is not happening:
 * the isolate's next request may make it.
 */
export async function renewing<T extends { plan: Endpoint[] }>(env: Env, route: RoutePlan, admission: Promise<T>): Promise<T> {
  const renewed = route.explores
  if (renewed === null) return admission
  try {
    const admitted = await admission
    if (explored(route, admitted.plan) === null) clearExploring(env, renewed)
    return admitted
  } catch (error) {
    clearExploring(env, renewed)
    throw error
  }
}

/** The endpoint an admitted request renews or probes (RoutePlan.explores): none when admission left it out of first place. */
export function explored(route: RoutePlan, plan: Endpoint[]): string | null {
  return plan[0] === route.endpoints[0] ? route.explores : null
}

/**
 * Plans a request against this isolate's catalog and health snapshots and the client's location.
 * Embeddings plan through here too (`output`), so both kinds of request route alike.
 */
export async function planRequest(c: Context<AppEnv>, request: ChatRequest, now: number, output: PlanInput['output'] = 'text'): Promise<RoutePlan> {
  const plan = await routeOf(c, request, now, output)
  // Until its outcome is observed (or a stale period has passed), this request alone renews the figure.
  if (plan.explores !== null) markExploring(c.env, plan.explores, now + configOf(c.env).HEALTH_STALE_MS)
  return plan
}

/**
 * The plan alone, for a request whose outcome is not observed (a token count): it renews no
 * endpoint's figure.
 */
export async function routeOf(c: Context<AppEnv>, request: ChatRequest, now: number, output: PlanInput['output'] = 'text'): Promise<RoutePlan> {
  const { env } = c
  const config = configOf(env)
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise)
  const [catalog, health] = await Promise.all([currentCatalog(env, waitUntil, now), currentHealth(env, waitUntil, now)])
  return planRoute({
    catalog,
    request,
    preferences: request.provider ?? null,
    isLive: (provider) => secretNamed(env, provider.apiKeyEnv) !== undefined,
    health,
    client: () => geoFromCf(c.req.raw.cf),
    sessionHeader: () => sessionHeaderOf(c.req.raw.headers),
    trace: wantsTrace(c.req.raw.headers),
    now,
    random: Math.random,
    // More candidates than attempts: the key's allow-lists (applied at admission) may remove some.
    maxAttempts: PLANNED_CANDIDATES,
    tieBandMs: config.ROUTING_TIE_BAND_MS,
    minSamples: config.CIRCUIT_MIN_SAMPLES,
    staleMs: config.HEALTH_STALE_MS,
    exploring: (key) => isExploring(env, key, now),
    mode: config.ROUTING_MODE,
    output,
  })
}

import type { Context } from 'hono'
import type { Endpoint } from '../catalog/snapshot'
import { configOf } from '../config'
import type { Env } from '../env'
import { GatewayError } from '../errors'
import { requestedBetas } from '../formats/anthropic/betas'
import type { ChatRequest } from '../formats/openai/request'
import { refusalError } from '../gateway/accounting'
import { tryPrepared } from '../gateway/attempts'
import { fetchJson } from '../gateway/complete'
import { servedHeaders } from '../gateway/identity'
import { prepareCountTokens } from '../providers/anthropic'
import { requestedModels, type RoutePlan } from '../routing/plan'
import { presetReference } from '../routing/presets'
import { keyCall } from '../gateway/admissions'
import { keyObject } from '../tenancy/directory'
import type { KeyRecord } from '../tenancy/keys'
import { allowedCandidates, notAllowed, type AllowLists } from '../tenancy/ledger'
import { routeOf, withStoredPreset } from './chat'
import type { AppEnv } from './context'

/**
 * POST /messages/count_tokens (Claude Code asks before each turn, to manage its context): the
 * count comes from a provider of the model that speaks Anthropic's API, for exactly the body a
 * Messages request would send it. Counting is free there, so nothing is reserved or charged: the
 * key must only be usable, allowed the endpoint, and within its requests_per_minute, which token
 * counts take from a bucket of their own (tenancy/counting). A model no such provider serves
 * gets a 404, on which Claude Code counts locally (a made-up figure would mislead its compaction),
 * and so does one whose providers all answer that they lack the route.
 * Failures here are not health observations: an Anthropic-compatible provider may lack the route.
 */
export async function countTokens(c: Context<AppEnv>, asked: ChatRequest): Promise<Response> {
  const { env } = c
  const clock = c.get('clock')
  const now = clock()
  const [key, planned] = await Promise.allSettled([countingKey(env, c.get('keyHash'), now), countingRoute(c, asked, now)])
  // The key's object has been asked: an error from here on needs no second look at the key.
  c.set('admitting', true)
  // The key's 401 comes first, as on every route.
  if (key.status === 'rejected') throw key.reason
  if (planned.status === 'rejected') throw planned.reason
  const { request, route } = planned.value
  const settings = configOf(env)
  // A count is quick or not coming: a provider that holds one longer is passed over for the next.
  const timeout = settings.TIMEOUT_COUNT_TOKENS_MS
  const config = { ...settings, TIMEOUT_NON_STREAMING_MS: timeout, ATTEMPT_DEADLINE_MS: 2 * timeout }
  const model = requestedModels(request)[0] ?? ''
  const betas = requestedBetas(c.req.raw.headers, settings.ANTHROPIC_BETAS)
  const plan = countingEndpoints(route.endpoints, key.value.policy, model).slice(0, config.MAX_ATTEMPTS)
  const served = await tryPrepared(
    // A count renews and probes nothing (routeOf marks nothing), so it ends no other request's probe.
    { env, config, clock, plan, startedAt: now, observe: () => {}, clientGone: c.req.raw.signal, explores: null },
    (endpoint, apiKey) => prepareCountTokens(request, endpoint, apiKey, betas),
    (call) => fetchJson(call, (body) => call.decode(body), { config, clock }),
  )
  if (served.ok) return Response.json({ input_tokens: served.value.input_tokens }, { headers: servedHeaders(null, served.endpoint, served.attempts) })
  // Anthropic-compatible providers may lack the route: when none has it, the client counts locally.
  if (served.attempts.length > 0 && served.attempts.every((attempt) => attempt.status === 404 || attempt.status === 405)) {
    throw new GatewayError(404, 'not_found', `Token counting is not offered by the providers of ${model} that were asked: count locally`, {
      attempts: served.attempts,
    })
  }
  throw served.error
}

/** The key's record, if it may count now: one call to its object, which takes the count from the key's rate limit. */
async function countingKey(env: Env, keyHash: string, now: number): Promise<KeyRecord> {
  const admission = await keyCall(() => keyObject(env, keyHash).admitCount(now), 'token count admission')
  if (!admission.ok) throw refusalError(admission.refusal)
  return admission.record
}

/** The request as counted (a preset's system prompt and tools count too) and its plan. */
async function countingRoute(c: Context<AppEnv>, asked: ChatRequest, now: number): Promise<{ request: ChatRequest; route: RoutePlan }> {
  const preset = presetReference(asked)
  const request = preset ? await withStoredPreset(c, asked, preset, now) : asked
  // No window or output cap limits a count: a prompt too long for the model is what one counts.
  return { request, route: await routeOf(c, request, now, 'count') }
}

/** The planned endpoints the key may use that can count: those speaking Anthropic's API. */
function countingEndpoints(planned: Endpoint[], lists: AllowLists, model: string): Endpoint[] {
  const candidates = planned.map((endpoint) => ({ model: endpoint.model.id, provider: endpoint.provider.id }))
  const allowed = allowedCandidates(lists, { candidates, maxAttempts: candidates.length }).flatMap((index) => planned[index] ?? [])
  if (allowed.length === 0) throw refusalError(notAllowed(lists, candidates))
  const counting = allowed.filter((endpoint) => endpoint.provider.format === 'anthropic')
  if (counting.length === 0) {
    throw new GatewayError(404, 'not_found', `Token counting needs a provider that speaks Anthropic's API, and none serves ${model} for this key: count locally`, {
      model,
    })
  }
  return counting
}

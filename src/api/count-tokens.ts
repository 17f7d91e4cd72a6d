import type { Context } from 'hono'
import type { Endpoint } from '../catalog/snapshot'
import { configOf } from '../config'
import { GatewayError } from '../errors'
import type { ChatRequest } from '../formats/openai/request'
import { tryPrepared } from '../gateway/attempts'
import { fetchJson } from '../gateway/complete'
import { servedHeaders } from '../gateway/identity'
import { prepareCountTokens } from '../providers/anthropic'
import { requestedModels } from '../routing/plan'
import { allows, type Policy } from '../tenancy/policy'
import { usableKey } from './auth'
import { routeOf } from './chat'
import type { AppEnv } from './context'

/**
 * POST /messages/count_tokens (Claude Code asks before each turn, to manage its context): the
 * count comes from a provider of the model that speaks Anthropic's API, for exactly the body a
 * Messages request would send it. Counting is free there, so nothing is admitted, reserved or
 * charged: the key must only be usable and allowed the endpoint. A model no such provider serves
 * gets a 404, on which Claude Code counts locally; a made-up figure would mislead its compaction.
 * Failures here are not health observations: an Anthropic-compatible provider may lack the route.
 */
export async function countTokens(c: Context<AppEnv>, request: ChatRequest): Promise<Response> {
  const { env } = c
  const clock = c.get('clock')
  const now = clock()
  const [key, route] = await Promise.allSettled([usableKey(env, c.get('keyHash'), now), routeOf(c, request, now)])
  // The key's 401 comes first, as on every route.
  if (key.status === 'rejected') throw key.reason
  c.set('admitting', true)
  if (route.status === 'rejected') throw route.reason
  const config = configOf(env)
  const plan = countingEndpoints(route.value.endpoints, key.value.record.policy, requestedModels(request)[0] ?? '').slice(0, config.MAX_ATTEMPTS)
  const served = await tryPrepared(
    { env, config, clock, plan, startedAt: now, observe: () => {}, clientGone: c.req.raw.signal },
    (endpoint, apiKey) => prepareCountTokens(request, endpoint, apiKey),
    (call) => fetchJson(call, (body) => call.decode(body), config),
  )
  if (!served.ok) throw served.error
  return Response.json({ input_tokens: served.value.input_tokens }, { headers: servedHeaders(null, served.endpoint, served.attempts) })
}

/** The planned endpoints the key may use that can count: those speaking Anthropic's API. */
function countingEndpoints(planned: Endpoint[], policy: Pick<Policy, 'allowedModels' | 'allowedProviders'>, model: string): Endpoint[] {
  const allowed = planned.filter((e) => allows(policy.allowedModels, e.model.id) && allows(policy.allowedProviders, e.provider.id))
  if (allowed.length === 0) {
    const providers = [...new Set(planned.map((e) => e.provider.id))]
    throw new GatewayError(403, 'permission_denied', `This key may not use ${model} through ${providers.join(', ')}`)
  }
  const counting = allowed.filter((e) => e.provider.format === 'anthropic')
  if (counting.length === 0) {
    throw new GatewayError(404, 'not_found', `Token counting needs a provider that speaks Anthropic's API, and none serves ${model} for this key: count locally`, {
      model,
    })
  }
  return counting
}

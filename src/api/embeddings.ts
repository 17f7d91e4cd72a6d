import { Hono } from 'hono'
import { EmbeddingsRequest, planningRequest } from '../formats/openai/embeddings'
import { admitWithin } from '../gateway/accounting'
import { embed, embeddingBounds } from '../gateway/embed'
import { newGeneration } from '../gateway/identity'
import { primaryOnly } from '../routing/preferences'
import { keysTrace, requireTenant } from './auth'
import { readJsonBody } from './body'
import { engineHooks, explored, planRequest, renewing } from './chat'
import type { AppEnv } from './context'

/**
 * POST /embeddings (OpenAI format): routed by the chat planner among models that output
 * embeddings, admitted and settled by the same ledger, with failover before any byte.
 */
export const embeddings = new Hono<AppEnv>()

embeddings.post('/embeddings', requireTenant, async (c) => {
  const request = await readJsonBody(c, EmbeddingsRequest, 'request')
  const { env } = c
  const clock = c.get('clock')
  const now = clock()
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise)
  const planning = planningRequest(request)
  const route = await planRequest(c, planning, now, 'embeddings')
  const identity = newGeneration(now)
  c.set('admitting', true)
  // The trace reads the key's lists before admission: either failing gives the route's probe mark back (renewing).
  const { plan, reservation, costCapNano, tokenCap, trace } = await renewing(
    env,
    route,
    (async () => {
      const trace = route.trace && (await keysTrace(c, route.trace, now))
      const admitted = await admitWithin({ env, waitUntil, clientGone: c.req.raw.signal, clock }, c.get('keyHash'), {
        id: identity.id,
        now,
        plan: route.endpoints,
        bounds: embeddingBounds(request),
        onePerModel: primaryOnly(planning.provider),
      })
      return { ...admitted, trace }
    })(),
  )
  const facts = { id: identity.id, reservation, tokenCap, createdAt: now, modelRequested: planning.model ?? planning.models?.[0] ?? '', streamed: false, apiType: 'embeddings' as const }
  // As in chat: a client that hangs up must not cancel the work, which the provider bills.
  const answer = embed({ ...engineHooks(c, facts), plan, startedAt: now, request, trace, costCapNano, explores: explored(route, plan) }, identity)
  waitUntil(answer)
  return answer
})

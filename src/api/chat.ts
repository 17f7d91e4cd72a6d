import { Hono } from 'hono'
import { currentCatalog } from '../catalog/store'
import { configOf } from '../config'
import { secretNamed } from '../env'
import { ChatRequest } from '../formats/openai/request'
import { admit, settle, type RequestFacts } from '../gateway/accounting'
import { complete } from '../gateway/complete'
import { newGeneration } from '../gateway/identity'
import { streamCompletion } from '../gateway/stream'
import { planRoute, requestedModels } from '../routing/plan'
import { requireTenant } from './auth'
import { readJsonBody } from './body'
import type { AppEnv } from './context'

/**
 * POST /chat/completions: validate → plan (in memory) → admit (the one Durable Object call) →
 * execute → settle in waitUntil.
 */
export const chat = new Hono<AppEnv>()

chat.post('/chat/completions', requireTenant, async (c) => {
  const request = await readJsonBody(c, ChatRequest, 'request')
  const { env } = c
  const config = configOf(env)
  const clock = c.var.clock
  const now = clock()
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise)
  const catalog = await currentCatalog(env, waitUntil, now)
  const planned = planRoute({
    catalog,
    request,
    isLive: (provider) => secretNamed(env, provider.apiKeyEnv) !== undefined,
    maxAttempts: config.MAX_ATTEMPTS,
  })
  const identity = newGeneration(now)
  const { plan } = await admit(env, c.var.keyHash, { id: identity.id, now, request, plan: planned })
  const stream = request.stream === true
  const facts: RequestFacts = { id: identity.id, createdAt: now, modelRequested: requestedModels(request)[0] ?? '', streamed: stream }
  const ctx = {
    env,
    config,
    clock,
    request,
    plan,
    stream,
    startedAt: now,
    finish: (outcome: Parameters<typeof settle>[3]) => waitUntil(settle(env, c.var.keyHash, facts, outcome, clock())),
  }
  return stream ? streamCompletion(ctx, identity, waitUntil) : complete(ctx, identity)
})

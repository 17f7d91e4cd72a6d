import { Hono } from 'hono'
import { currentCatalog } from '../catalog/store'
import { configOf } from '../config'
import { secretNamed } from '../env'
import { ChatRequest } from '../formats/openai/request'
import { complete } from '../gateway/complete'
import { newGeneration } from '../gateway/identity'
import { streamCompletion } from '../gateway/stream'
import { planRoute } from '../routing/plan'
import { admitRequest } from '../tenancy/admission'
import { requireTenant } from './auth'
import { readJsonBody } from './body'
import type { AppEnv } from './context'

/** POST /chat/completions: validate → plan → admit (one DO call) → execute. */
export const chat = new Hono<AppEnv>()

chat.post('/chat/completions', requireTenant, async (c) => {
  const request = await readJsonBody(c, ChatRequest, 'request')
  const { env } = c
  const config = configOf(env)
  const clock = c.var.clock
  const now = clock()
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise)
  const catalog = await currentCatalog(env, waitUntil, now)
  const plan = planRoute({
    catalog,
    request,
    isLive: (provider) => secretNamed(env, provider.apiKeyEnv) !== undefined,
    maxAttempts: config.MAX_ATTEMPTS,
  })
  await admitRequest(env, c.var.keyHash, now)
  const identity = newGeneration(now)
  const stream = request.stream === true
  const ctx = { env, config, clock, request, plan, stream }
  return stream ? streamCompletion(ctx, identity, waitUntil) : complete(ctx, identity)
})

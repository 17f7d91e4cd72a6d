import { Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import { CountTokensRequest, fromAnthropicRequest, MessagesRequest } from '../formats/anthropic/ingress-request'
import { anthropicRenderer } from '../formats/anthropic/render'
import { requireTenant } from './auth'
import { readJsonBody } from './body'
import { serveChat } from './chat'
import type { AppEnv } from './context'
import { countTokens } from './count-tokens'

/**
 * POST /messages: Anthropic's Messages API in and out (the Anthropic SDK, Claude Code), served by
 * the same engine as chat completions, so any catalog model can answer. The key comes as
 * `x-api-key` or `Authorization: Bearer`; `anthropic-version` is accepted whatever it says.
 */
export const messages = new Hono<AppEnv>()

/** Errors on this route, the auth failures included, leave in Anthropic's shape. */
const anthropicErrors = createMiddleware<AppEnv>(async (c, next) => {
  c.set('errorResponse', anthropicRenderer.error)
  await next()
})

// Anthropic SDKs also reach paths not served here (batches) and wrong methods: those
// 404s are in Anthropic's shape too.
// (`/messages/*` matches `/messages` itself too.)
messages.use('/messages/*', anthropicErrors)

messages.post('/messages', requireTenant, async (c) => {
  const request = await readJsonBody(c, MessagesRequest, 'request')
  return serveChat(c, fromAnthropicRequest(request), anthropicRenderer)
})

messages.post('/messages/count_tokens', requireTenant, async (c) => {
  const request = await readJsonBody(c, CountTokensRequest, 'request')
  // max_tokens bounds an answer, not a count: it neither limits the plan nor reaches the provider.
  return countTokens(c, fromAnthropicRequest({ ...request, max_tokens: null }))
})

import { Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import { responsesError } from '../formats/responses/errors'
import { ResponsesRequest } from '../formats/responses/request'
import { responsesRenderer } from '../formats/responses/renderer'
import { fromResponsesRequest } from '../formats/responses/to-chat'
import { requireTenant } from './auth'
import { readJsonBody } from './body'
import { serveChat } from './chat'
import type { AppEnv } from './context'

/**
 * POST /responses: OpenAI's Responses API (the AI SDK's default, `openai.responses.create`),
 * served by the same engine as chat completions, so any catalog model can answer. Stateless: the
 * request carries its whole conversation (formats/responses/request.ts says what is refused).
 */
export const responses = new Hono<AppEnv>()

// Every error on this route, auth failures and unserved paths (GET /responses/{id}) included, leaves in OpenAI's shape.
// (`/responses/*` matches `/responses` itself too.)
responses.use(
  '/responses/*',
  createMiddleware<AppEnv>(async (c, next) => {
    c.set('errorResponse', responsesError)
    await next()
  }),
)

responses.post('/responses', requireTenant, async (c) => {
  const request = await readJsonBody(c, ResponsesRequest, 'request')
  return serveChat(c, fromResponsesRequest(request), responsesRenderer(request))
})

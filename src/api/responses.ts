import { Hono } from 'hono'
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

responses.post('/responses', requireTenant, async (c) => {
  const request = await readJsonBody(c, ResponsesRequest, 'request')
  return serveChat(c, fromResponsesRequest(request), responsesRenderer(request))
})

import { Hono } from 'hono'
import { CompletionRequest, textCompletionRenderer } from '../formats/openai/completions'
import { requireTenant } from './auth'
import { readJsonBody } from './body'
import { serveChat } from './chat'
import type { AppEnv } from './context'

/** POST /completions: OpenAI's legacy `prompt` API, served as a one-message chat by the same engine. */
export const completions = new Hono<AppEnv>()

completions.post('/completions', requireTenant, async (c) =>
  serveChat(c, await readJsonBody(c, CompletionRequest, 'request'), textCompletionRenderer),
)

import { Hono, type Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { Clock } from '../clock'
import { configOf } from '../config'
import type { Env } from '../env'
import { GatewayError, invalidInput } from '../errors'
import { TIMED_OUT, within } from '../gateway/deadline'
import { responsesError } from '../formats/responses/errors'
import { InputItemsQuery, inputItemsPage } from '../formats/responses/input-items'
import type { Keep } from '../formats/responses/render'
import { ResponsesRequest } from '../formats/responses/request'
import { responsesRenderer } from '../formats/responses/renderer'
import { referencesOf, resolveInput, storedRow, type ConcreteItem } from '../formats/responses/stored'
import { fromResponsesRequest } from '../formats/responses/to-chat'
import { keyCall } from '../gateway/admissions'
import { keyObject } from '../tenancy/directory'
import type { Recalled } from '../tenancy/stored-responses'
import { requireTenant, usableKey } from './auth'
import { readJsonBody } from './body'
import { serveChat } from './chat'
import type { AppEnv } from './context'

/**
 * POST /responses: OpenAI's Responses API (the AI SDK's default, `openai.responses.create`),
 * served by the same engine as chat completions, so any catalog model can answer. A response
 * created with `store` on (the default) is kept in the key's object, for `previous_response_id`,
 * `item_reference`, GET /responses/{id} and its input_items; that costs such a request one more call to the object
 * as it ends, and one as it starts when it names stored responses.
 */
export const responses = new Hono<AppEnv>()

/** How long an answer waits for its response to be kept; past it, the answer says `store: false`. */
const KEEP_TIMEOUT_MS = 5_000

// Every error on this route, auth failures and unserved paths included, leaves in OpenAI's shape.
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
  const { env } = c
  const config = configOf(env)
  const keyHash = c.get('keyHash')
  const storing = config.RESPONSES_RETENTION_DAYS > 0
  const references = storing ? referencesOf(request) : null
  const recalled = references && (await recall(env, keyHash, references.previous, references.holders, config.MAX_BODY_BYTES))
  const conversation = resolveInput(request, recalled, storing, config.MAX_BODY_BYTES)
  const keep = storing && request.store !== false ? keeper(env, keyHash, request.previous_response_id ?? null, conversation.input, c.get('clock')) : null
  return serveChat(c, fromResponsesRequest(request, conversation), responsesRenderer(request, keep))
})

responses.get('/responses/:id', requireTenant, async (c) => {
  const id = c.req.param('id')
  if (c.req.query('stream') === 'true') throw new GatewayError(400, 'invalid_request', 'A stored response is not replayed as a stream: GET it without stream=true')
  await checkKey(c)
  const response = await keyCall(() => keyObject(c.env, c.get('keyHash')).storedResponse(id), 'stored response read')
  if (response === null) throw notFound(id)
  return new Response(response, { headers: { 'content-type': 'application/json' } })
})

responses.get('/responses/:id/input_items', requireTenant, async (c) => {
  const id = c.req.param('id')
  const query = InputItemsQuery.safeParse(c.req.query())
  if (!query.success) throw invalidInput('query', query.error.issues)
  await checkKey(c)
  const stored = await keyCall(() => keyObject(c.env, c.get('keyHash')).storedInput(id), 'stored input read')
  if (stored === null) throw notFound(id)
  return c.json(inputItemsPage(id, stored.input, query.data))
})

responses.delete('/responses/:id', requireTenant, async (c) => {
  const id = c.req.param('id')
  await checkKey(c)
  if (!(await keyCall(() => keyObject(c.env, c.get('keyHash')).forgetResponse(id), 'stored response deletion'))) throw notFound(id)
  return c.json({ id, object: 'response', deleted: true })
})

/** The calling key may be used: a refusal after this needs no second look at it (requireTenant). */
async function checkKey(c: Context<AppEnv>): Promise<void> {
  await usableKey(c.env, c.get('keyHash'), c.get('clock')())
  c.set('admitting', true)
}

/** The stored responses a request names, from the key's object (which holds only its own key's). */
async function recall(env: Env, keyHash: string, previous: string | null, holders: string[], maxChars: number): Promise<Recalled> {
  const recalled = await keyCall(() => keyObject(env, keyHash).recallResponses(previous, holders, maxChars), 'stored responses recall')
  if (!recalled) throw new GatewayError(401, 'authentication', 'Invalid API key')
  return recalled
}

/**
 * Keeps a finished response with the request's own input. A response too large to keep, or a call
 * that fails or takes longer than KEEP_TIMEOUT_MS, is not kept (the answer says so).
 */
function keeper(env: Env, keyHash: string, previous: string | null, input: ConcreteItem[], clock: Clock): Keep {
  return async (response) => {
    const row = storedRow(response, previous, input)
    if (!row) return false
    try {
      const kept = await within(keyObject(env, keyHash).keepResponse(row, clock()), KEEP_TIMEOUT_MS)
      if (kept === TIMED_OUT) console.error(`storing a response took over ${KEEP_TIMEOUT_MS} ms`)
      return kept === true
    } catch (error) {
      console.error('storing a response failed', error instanceof Error ? error.message : String(error))
      return false
    }
  }
}

function notFound(id: string): GatewayError {
  return new GatewayError(404, 'not_found', `Response with id '${id}' not found.`)
}

import { Hono } from 'hono'
import { admin } from './api/admin'
import { chat } from './api/chat'
import { completions } from './api/completions'
import type { AppEnv } from './api/context'
import { cors } from './api/cors'
import { embeddings } from './api/embeddings'
import { keys } from './api/keys'
import { messages } from './api/messages'
import { models } from './api/models'
import { providers } from './api/providers'
import { responses } from './api/responses'
import { tenant } from './api/tenant'
import { systemClock, type Clock } from './clock'
import { dashboard } from './dashboard/routes'
import { GatewayError, internalError, toErrorResponse } from './errors'
import { missingBinding } from './env'
import { withRequestId } from './gateway/identity'

/**
 * The Hono app: the API is mounted under both /v1 and /api/v1 (OpenRouter's base path), and every
 * error leaves through the one handler below.
 */
export function createApp(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock
  const api = new Hono<AppEnv>()
  api.route('/', chat)
  api.route('/', messages)
  api.route('/', responses)
  api.route('/', embeddings)
  api.route('/', completions)
  api.route('/', models)
  api.route('/', tenant)
  api.route('/', providers)
  api.route('/', keys)
  api.route('/', admin)

  // A trailing slash names the same route: clients given a base URL ending in one (or a full
  // endpoint URL copied with one) must not get a 404.
  const app = new Hono<AppEnv>({ strict: false })
  app.use('*', async (c, next) => {
    c.set('clock', clock)
    const missing = missingBinding(c.env)
    if (missing) throw new GatewayError(500, 'server', `Meridian is deployed without its ${missing} binding: the operator must add it to wrangler.toml`)
    await next()
  })
  // Browsers may call the API directly; they can read the routing headers too.
  app.use('/v1/*', cors)
  app.use('/api/v1/*', cors)
  app.get('/health', (c) => c.json({ status: 'ok' }))
  app.route('/v1', api)
  app.route('/api/v1', api)
  app.route('/dashboard', dashboard)

  app.notFound((c) => withRequestId((c.get('errorResponse') ?? toErrorResponse)(new GatewayError(404, 'not_found', `No route for ${c.req.method} ${c.req.path}`))))
  app.onError((error, c) => {
    const respond = c.get('errorResponse') ?? toErrorResponse
    if (error instanceof GatewayError) return withRequestId(respond(error))
    const answer = withRequestId(respond(internalError()))
    console.error('unhandled error', answer.headers.get('x-request-id'), error instanceof Error ? error.stack : String(error))
    return answer
  })
  return app
}

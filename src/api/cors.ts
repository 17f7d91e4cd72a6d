import { createMiddleware } from 'hono/factory'
import type { AppEnv } from './context'

/**
 * CORS for the API: any origin may call it (keys are bearer tokens, not cookies) and read the
 * routing headers. The headers are set on the route's own response after it is built; hono/cors
 * set them on a placeholder response first, which made Hono copy every response into a new one
 * (two extra Response objects per request; Hono's share of the gateway's samples in
 * `npm run bench:profile` fell from 8.0% to 4.5% without it).
 */

/** The routing headers, and a refusal's rate-limit headers (not safelisted, so unreadable unless exposed). */
const EXPOSED = [
  'x-generation-id',
  'x-request-id',
  'request-id',
  'x-meridian-provider',
  'x-meridian-attempts',
  'retry-after',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
].join(',')
const METHODS = 'GET,HEAD,POST,PUT,PATCH,DELETE'
/** Browsers cache a preflight's answer this long (Chromium caps it at 2 hours). */
const MAX_AGE_S = '7200'

export const cors = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method === 'OPTIONS') return preflight(c.req.header('access-control-request-headers'))
  await next()
  // Every route builds its own response, so its headers are mutable (a fetched one's are not).
  c.res.headers.set('access-control-allow-origin', '*')
  c.res.headers.set('access-control-expose-headers', EXPOSED)
})

/** Any OPTIONS request: 204 allowing what the browser asks to send. */
function preflight(requested: string | undefined): Response {
  const headers = new Headers({
    'access-control-allow-origin': '*',
    'access-control-allow-methods': METHODS,
    'access-control-expose-headers': EXPOSED,
    'access-control-max-age': MAX_AGE_S,
  })
  if (requested) {
    headers.set('access-control-allow-headers', requested)
    headers.set('vary', 'access-control-request-headers')
  }
  return new Response(null, { status: 204, headers })
}

import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { Env } from '../env'
import { GatewayError } from '../errors'
import { keyCall } from '../gateway/admissions'
import { traceWithin } from '../gateway/trace'
import type { RouteTrace } from '../routing/plan'
import { keyObject, type KeyState } from '../tenancy/directory'
import { KEY_PREFIX, keyRefusal, sha256, toHex } from '../tenancy/keys'
import type { AppEnv } from './context'

/**
 * Credentials. Tenant keys call inference and their own /key; the admin token (ADMIN_TOKEN secret)
 * provisions keys and edits the catalog. Neither may do the other's job.
 */

/**
 * `Authorization: Bearer <token>`, or Anthropic-style `x-api-key`. Throws a 401 naming what is
 * wrong when no token is presented: `missing` says what to send.
 */
function presentedToken(headers: Headers, missing: string): string {
  const authorization = headers.get('authorization')
  const bearer = authorization === null ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1]
  const token = bearer ?? headers.get('x-api-key')?.trim()
  if (token) return token
  if (authorization === null) throw new GatewayError(401, 'authentication', missing)
  // Sent twice, the header arrives as both values joined by a comma.
  const problem = authorization.includes(',') ? 'sent more than once' : 'not of the form "Bearer <key>"'
  throw new GatewayError(401, 'authentication', `Malformed Authorization header (${problem}): send exactly one "Authorization: Bearer <key>"`)
}

let adminDigest: { token: string; digest: Promise<Uint8Array> } | undefined

/**
 * Digests of recently presented tokens, and whether each is the admin token (as of the admin token
 * it was compared with): a busy key is hashed and compared once per isolate, not per request.
 */
interface Presented {
  digest: Uint8Array
  hex: string
  comparedWith?: string
  isAdmin?: boolean
}
const recentDigests = new Map<string, Presented>()
const RECENT_DIGESTS = 1024
/** Tokens longer than this are not remembered: no key is near it, and 1,024 of them could hold an isolate's memory. */
const REMEMBERED_TOKEN_CHARS = 512

async function tokenDigest(token: string): Promise<Presented> {
  const known = recentDigests.get(token)
  if (known) return known
  const digest = await sha256(token)
  const entry: Presented = { digest, hex: toHex(digest) }
  if (token.length > REMEMBERED_TOKEN_CHARS) return entry
  // Oldest first out (a Map keeps insertion order), so unknown tokens cannot grow it without bound.
  if (recentDigests.size >= RECENT_DIGESTS) recentDigests.delete(recentDigests.keys().next().value as string)
  recentDigests.set(token, entry)
  return entry
}

async function presentsAdminToken(adminToken: string | undefined, presented: Presented): Promise<boolean> {
  if (presented.comparedWith !== adminToken || presented.isAdmin === undefined) {
    presented.isAdmin = await isAdminToken(adminToken, presented.digest)
    presented.comparedWith = adminToken
  }
  return presented.isAdmin
}

/**
 * The ADMIN_TOKEN secret, trimmed as presented tokens are (a secret stored with a trailing newline,
 * as `echo token | wrangler secret put` stores it, must still match); undefined while none is set.
 */
export function adminTokenOf(env: Env): string | undefined {
  const token: unknown = env.ADMIN_TOKEN
  if (token === undefined || typeof token === 'string') return token?.trim() || undefined
  // `ADMIN_TOKEN = 20261122` in [vars] is a number: no admin token (said once), and tenants are served as ever.
  if (!warnedAdminToken.has(env)) console.error('ADMIN_TOKEN is not a string (a number in [vars]?): the admin API is off until it is set as a secret')
  warnedAdminToken.add(env)
  return undefined
}
const warnedAdminToken = new WeakSet<object>()

/** Whether `token` is the ADMIN_TOKEN secret (false while none is set), compared in constant time. */
export async function isAdmin(env: Env, token: string): Promise<boolean> {
  return isAdminToken(adminTokenOf(env), await sha256(token))
}

/** Constant-time comparison: both sides are hashed first so lengths never differ. */
async function isAdminToken(adminToken: string | undefined, presented: Uint8Array): Promise<boolean> {
  if (!adminToken) return false
  if (adminDigest?.token !== adminToken) adminDigest = { token: adminToken, digest: sha256(adminToken) }
  return crypto.subtle.timingSafeEqual(await adminDigest.digest, presented)
}

/**
 * Inference and tenant endpoints. Only hashes the key here; whether it exists, is disabled or has
 * expired is decided by the key's Durable Object in the request's one admission call.
 *
 * @example app.post('/chat/completions', requireTenant, handler)
 */
export const requireTenant = createMiddleware<AppEnv>(async (c, next) => {
  const token = presentedToken(c.req.raw.headers, MISSING_KEY)
  // One digest serves both the constant-time admin check and the key's hash.
  const presented = await tokenDigest(token)
  if (await presentsAdminToken(adminTokenOf(c.env), presented)) {
    throw new GatewayError(403, 'permission_denied', 'The admin token cannot call inference endpoints; create a tenant key with POST /v1/keys')
  }
  c.set('keyHash', presented.hex)
  await next()
  // A request refused for its content before admission (a malformed body, an unknown model) never
  // reached the key's object. A key that may not be used gets its 401 first, as at OpenAI: checked
  // only on that error path, so a served request still makes one call to the object.
  if (c.error instanceof GatewayError && c.error.status < 500 && c.error.status !== 401 && !c.get('admitting')) await refuseUnusableKey(c.env, presented.hex, c.get('clock')())
})

const MISSING_KEY = 'Missing API key: send "Authorization: Bearer <key>"'

/** Whether the request presents the admin (management) token: GET /key answers it as OpenRouter answers its management keys. */
export async function presentsAdmin(c: Context<AppEnv>): Promise<boolean> {
  return presentsAdminToken(adminTokenOf(c.env), await tokenDigest(presentedToken(c.req.raw.headers, MISSING_KEY)))
}

/** Throws the key's 401 if it may not be used; a lookup that fails (logged) leaves the request's own answer. */
async function refuseUnusableKey(env: Env, keyHash: string, now: number): Promise<void> {
  try {
    await usableKey(env, keyHash, now)
  } catch (error) {
    if (error instanceof GatewayError && error.status === 401) throw error
  }
}

/**
 * A routing trace as the calling key may see it (gateway/trace.ts traceWithin): its allow-lists,
 * read from its object only for a request that asked for a trace. Read before admission, so that a
 * read that fails holds no reservation.
 */
export async function keysTrace(c: Context<AppEnv>, trace: RouteTrace, now: number): Promise<RouteTrace> {
  const state = await usableKey(c.env, c.get('keyHash'), now)
  return traceWithin(trace, state.record.policy)
}

/** The calling key's state, if the key may be used right now (else the same 401 as inference). */
export async function usableKey(env: Env, keyHash: string, now: number): Promise<KeyState> {
  const state = await keyCall(() => keyObject(env, keyHash).read(now), 'key read')
  if (!state) throw new GatewayError(401, 'authentication', 'Invalid API key')
  const refusal = keyRefusal(state.record, now)
  if (refusal) throw new GatewayError(401, 'authentication', refusal.message)
  return state
}

/**
 * Admin (management) endpoints: key provisioning and the catalog.
 *
 * @example app.post('/keys', requireAdmin, handler)
 */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (!adminTokenOf(c.env)) {
    throw new GatewayError(403, 'permission_denied', 'The admin API is disabled: set the ADMIN_TOKEN secret')
  }
  const token = presentedToken(c.req.raw.headers, 'Missing admin token: send "Authorization: Bearer <ADMIN_TOKEN>"')
  // The token first: an ADMIN_TOKEN that happens to start like a tenant key is still the operator's.
  if (!(await isAdmin(c.env, token))) {
    if (token.startsWith(KEY_PREFIX)) throw new GatewayError(403, 'permission_denied', 'Tenant API keys cannot call admin endpoints')
    throw new GatewayError(401, 'authentication', 'Invalid admin token')
  }
  await next()
})

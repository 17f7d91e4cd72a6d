import type { Context } from 'hono'
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie'
import type { CookieOptions } from 'hono/utils/cookie'
import * as z from 'zod'
import type { AppEnv } from '../api/context'
import { toHex } from '../tenancy/keys'

/**
 * The dashboard's sign-in: a cookie holding the session's expiry and a random id, signed
 * (HMAC-SHA256) with a key derived from ADMIN_TOKEN (PBKDF2), so rotating ADMIN_TOKEN ends every session
 * at once. Signing out also ends the session itself, not only the browser's copy: its id is
 * listed in KV as revoked until it would have expired (KV carries that to other locations within
 * about a minute). The cookie is HttpOnly and SameSite=Strict (a cross-site form post carries
 * none), scoped to /dashboard, and Secure whenever the dashboard is served over HTTPS.
 */

/** How long a sign-in lasts. */
export const SESSION_MS = 8 * 60 * 60 * 1000

const COOKIE = 'meridian_dashboard'
const REVOKED_PREFIX = 'dashboard/revoked/'
/** KV's shortest expiration. */
const MIN_KV_TTL_S = 60

/** `<expires at, Unix ms>.<id, 32 hex>`, as signed. */
const SessionValue = z
  .string()
  .regex(/^\d{1,16}\.[0-9a-f]{32}$/)
  .transform((value) => {
    const [expiresAt, id] = value.split('.') as [string, string]
    return { expiresAt: Number(expiresAt), id }
  })

function cookieOptions(c: Context<AppEnv>): CookieOptions {
  return { path: '/dashboard', httpOnly: true, sameSite: 'Strict', secure: new URL(c.req.url).protocol === 'https:' }
}

/**
 * PBKDF2 rounds from ADMIN_TOKEN to the cookies' signing key: the most the Workers runtime allows.
 * A stolen cookie lets anyone test guesses of ADMIN_TOKEN offline, against its signature; each
 * guess then costs this many HMACs rather than one.
 */
export const SIGNING_KEY_ROUNDS = 100_000
/** Domain-separates the key from the token's other use (bearer auth on the admin API). */
const SIGNING_KEY_SALT = new TextEncoder().encode('meridian-dashboard-session')

/** The signing key of the ADMIN_TOKEN last seen, derived once per isolate (tens of milliseconds). */
let signing: { adminToken: string; key: Promise<ArrayBuffer> } | null = null

function signingSecret(adminToken: string): Promise<ArrayBuffer> {
  if (signing?.adminToken !== adminToken) {
    const key = deriveSigningKey(adminToken)
    signing = { adminToken, key }
    // A failed derivation is tried again by the next request, not remembered.
    key.catch(() => {
      if (signing?.key === key) signing = null
    })
  }
  return signing.key
}

async function deriveSigningKey(adminToken: string): Promise<ArrayBuffer> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(adminToken), 'PBKDF2', false, ['deriveBits'])
  return crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: SIGNING_KEY_SALT, iterations: SIGNING_KEY_ROUNDS }, material, 256)
}

export async function startSession(c: Context<AppEnv>, adminToken: string, now: number): Promise<void> {
  const id = toHex(crypto.getRandomValues(new Uint8Array(16)))
  await setSignedCookie(c, COOKIE, `${now + SESSION_MS}.${id}`, await signingSecret(adminToken), {
    ...cookieOptions(c),
    maxAge: SESSION_MS / 1000,
  })
}

/** The request's session, if it is signed with the current ADMIN_TOKEN and has not expired (revocation aside). */
async function signedSession(c: Context<AppEnv>, adminToken: string, now: number): Promise<{ expiresAt: number; id: string } | null> {
  const parsed = SessionValue.safeParse(await getSignedCookie(c, await signingSecret(adminToken), COOKIE))
  if (!parsed.success) return null
  const { expiresAt } = parsed.data
  return expiresAt > now && expiresAt <= now + SESSION_MS ? parsed.data : null
}

/** Whether the request carries a live session: signed, unexpired, not signed out. */
export async function hasSession(c: Context<AppEnv>, adminToken: string, now: number): Promise<boolean> {
  const session = await signedSession(c, adminToken, now)
  return session !== null && (await c.env.KV.get(REVOKED_PREFIX + session.id)) === null
}

export async function endSession(c: Context<AppEnv>, adminToken: string, now: number): Promise<void> {
  const session = await signedSession(c, adminToken, now)
  if (session) {
    const ttl = Math.max(MIN_KV_TTL_S, Math.ceil((session.expiresAt - now) / 1000))
    await c.env.KV.put(REVOKED_PREFIX + session.id, '', { expirationTtl: ttl })
  }
  deleteCookie(c, COOKIE, cookieOptions(c))
}

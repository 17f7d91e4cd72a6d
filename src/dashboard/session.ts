import type { Context } from 'hono'
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie'
import type { CookieOptions } from 'hono/utils/cookie'
import type { AppEnv } from '../api/context'

/**
 * The dashboard's sign-in: a cookie holding the session's expiry, signed (HMAC-SHA256) with a key
 * derived from ADMIN_TOKEN. Nothing is stored server-side, so rotating ADMIN_TOKEN ends every
 * session at once. The cookie is HttpOnly and SameSite=Strict (a cross-site form post carries
 * none), scoped to /dashboard, and Secure whenever the dashboard is served over HTTPS.
 */

/** How long a sign-in lasts. */
export const SESSION_MS = 8 * 60 * 60 * 1000

const COOKIE = 'meridian_dashboard'

function cookieOptions(c: Context<AppEnv>): CookieOptions {
  return { path: '/dashboard', httpOnly: true, sameSite: 'Strict', secure: new URL(c.req.url).protocol === 'https:' }
}

/** Domain-separated from the token's other use (bearer auth on the admin API). */
function signingSecret(adminToken: string): string {
  return `meridian-dashboard-session:${adminToken}`
}

export async function startSession(c: Context<AppEnv>, adminToken: string, now: number): Promise<void> {
  await setSignedCookie(c, COOKIE, String(now + SESSION_MS), signingSecret(adminToken), {
    ...cookieOptions(c),
    maxAge: SESSION_MS / 1000,
  })
}

/** Whether the request carries a session signed with the current ADMIN_TOKEN that has not expired. */
export async function hasSession(c: Context<AppEnv>, adminToken: string, now: number): Promise<boolean> {
  const expiresAt = Number(await getSignedCookie(c, signingSecret(adminToken), COOKIE))
  return Number.isSafeInteger(expiresAt) && expiresAt > now && expiresAt <= now + SESSION_MS
}

export function endSession(c: Context<AppEnv>): void {
  deleteCookie(c, COOKIE, cookieOptions(c))
}

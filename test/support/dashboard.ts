import { expect } from 'vitest'
import { ADMIN_TOKEN, BASE, gatewayFetch } from './gateway'

/** The dashboard as a browser uses it: same-site form posts and a session cookie. */

const SAME_SITE = { origin: BASE, 'content-type': 'application/x-www-form-urlencoded' }

export function postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return gatewayFetch(path, { method: 'POST', headers: { ...SAME_SITE, ...headers }, body: new URLSearchParams(fields), redirect: 'manual' })
}

/** Signs in with the admin token; the session cookie, as a Cookie header value. */
export async function signIn(): Promise<string> {
  const response = await postForm('/dashboard/sign-in', { token: ADMIN_TOKEN })
  expect(response.status).toBe(303)
  return response.headers.get('set-cookie')!.split(';')[0]!
}

export function dashboardPage(cookie: string, path = '/dashboard'): Promise<Response> {
  return gatewayFetch(path, { headers: { cookie } })
}

import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { createApp } from '../../src/app'
import { SESSION_MS, SIGNING_KEY_ROUNDS } from '../../src/dashboard/session'
import { ADMIN_TOKEN, adminFetch, BASE, createKey, gatewayFetch, setUpGateway } from '../support/gateway'

setUpGateway()

const SAME_SITE = { origin: BASE, 'content-type': 'application/x-www-form-urlencoded' }

function post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return gatewayFetch(path, { method: 'POST', headers: { ...SAME_SITE, ...headers }, body: new URLSearchParams(fields), redirect: 'manual' })
}

/** The session cookie a sign-in sets, as a Cookie header value. */
function sessionCookie(response: Response): string {
  const cookie = response.headers.get('set-cookie') ?? ''
  expect(cookie).toMatch(/^meridian_dashboard=/)
  return cookie.split(';')[0]!
}

async function signIn(): Promise<string> {
  const response = await post('/dashboard/sign-in', { token: ADMIN_TOKEN })
  expect(response.status).toBe(303)
  return sessionCookie(response)
}

function page(cookie: string, path = '/dashboard'): Promise<Response> {
  return gatewayFetch(path, { headers: { cookie } })
}

/** Straight to an app of the test's own (its clock, its bindings), as the Worker's fetch would. */
async function viaApp(app: ReturnType<typeof createApp>, request: Request, settings: object = env): Promise<Response> {
  const ctx = createExecutionContext()
  const response = await app.fetch(request, settings, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

function signInRequest(url: string): Request {
  return new Request(url, { method: 'POST', headers: { ...SAME_SITE, origin: new URL(url).origin }, body: new URLSearchParams({ token: ADMIN_TOKEN }), redirect: 'manual' })
}

describe('the dashboard’s sign-in', () => {
  it('answers a visitor without a session with the sign-in form, uncached, under a strict content policy', async () => {
    const response = await gatewayFetch('/dashboard')
    expect(response.status).toBe(401)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    const body = await response.text()
    expect(body).toContain('name="token"')
    expect(body).not.toContain('<script')
  })

  it('signs in with the admin token: an HttpOnly, SameSite=Strict cookie for /dashboard that does not carry the token', async () => {
    const response = await post('/dashboard/sign-in', { token: ADMIN_TOKEN })
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('/dashboard')
    const cookie = response.headers.get('set-cookie')!
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Strict')
    expect(cookie).toContain('Path=/dashboard')
    expect(cookie).toContain(`Max-Age=${SESSION_MS / 1000}`)
    expect(cookie).not.toContain('Secure')
    expect(decodeURIComponent(cookie)).not.toContain(ADMIN_TOKEN)
    expect((await page(sessionCookie(response))).status).toBe(200)
  })

  it('marks the cookie Secure when the dashboard is served over HTTPS', async () => {
    const response = await viaApp(createApp(), signInRequest('https://gateway.test/dashboard/sign-in'))
    expect(response.status).toBe(303)
    expect(response.headers.get('set-cookie')).toContain('Secure')
  })

  it.each([
    ['a wrong token', 'not-the-admin-token', 401, 'Invalid admin token'],
    ['a tenant key', 'sk-mer-v1-0000', 401, 'tenant API key'],
    ['an empty field', '   ', 400, 'Enter the admin token'],
  ])('refuses %s without setting a cookie or echoing it', async (_, token, status, message) => {
    const response = await post('/dashboard/sign-in', { token })
    expect(response.status).toBe(status)
    expect(response.headers.get('set-cookie')).toBeNull()
    const body = await response.text()
    expect(body).toContain(message)
    if (token.trim()) expect(body).not.toContain(token)
  })

  it('refuses a sign-in posted from another site', async () => {
    const response = await post('/dashboard/sign-in', { token: ADMIN_TOKEN }, { origin: 'https://evil.example' })
    expect(response.status).toBe(403)
    expect(response.headers.get('set-cookie')).toBeNull()
    expect(await response.text()).toContain('another site')
  })

  it('refuses a session cookie that was altered', async () => {
    const cookie = await signIn()
    const [name, value] = cookie.split('=') as [string, string]
    const expiry = decodeURIComponent(value).split('.')[0]!
    const forged = `${name}=${encodeURIComponent(`${Number(expiry) + 1}.${decodeURIComponent(value).split('.').slice(1).join('.')}`)}`
    expect((await page(forged)).status).toBe(401)
    expect((await page(`${name}=${value.slice(0, -4)}AAAA`)).status).toBe(401)
  })

  it('signs the cookie with a key stretched from ADMIN_TOKEN, so a stolen cookie is slow to test guesses of it against', async () => {
    const [, value] = (await signIn()).split('=') as [string, string]
    const signed = decodeURIComponent(value)
    const cut = signed.lastIndexOf('.')
    const sign = async (key: BufferSource) => {
      const hmac = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
      return btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.sign('HMAC', hmac, new TextEncoder().encode(signed.slice(0, cut))))))
    }
    const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(ADMIN_TOKEN), 'PBKDF2', false, ['deriveBits'])
    const stretched = await crypto.subtle.deriveBits(
      { name: 'PBKDF2', hash: 'SHA-256', salt: new TextEncoder().encode('meridian-dashboard-session'), iterations: SIGNING_KEY_ROUNDS },
      material,
      256,
    )
    expect(SIGNING_KEY_ROUNDS).toBe(100_000)
    expect(signed.slice(cut + 1)).toBe(await sign(stretched))
    // One HMAC of the token itself no longer signs a cookie the dashboard takes.
    const quick = await sign(new TextEncoder().encode(`meridian-dashboard-session:${ADMIN_TOKEN}`))
    expect((await page(`meridian_dashboard=${encodeURIComponent(`${signed.slice(0, cut)}.${quick}`)}`)).status).toBe(401)
  })

  it('ends a session when it expires, and when ADMIN_TOKEN changes', async () => {
    let now = Date.parse('2026-11-23T12:00:00Z')
    const app = createApp({ clock: () => now })
    const cookie = sessionCookie(await viaApp(app, signInRequest(`${BASE}/dashboard/sign-in`)))
    const visit = (settings: object = env) => viaApp(app, new Request(`${BASE}/dashboard`, { headers: { cookie } }), settings)
    now += SESSION_MS - 1
    expect((await visit()).status).toBe(200)
    expect((await visit({ ...env, ADMIN_TOKEN: 'a-rotated-admin-token' })).status).toBe(401)
    now += 1
    expect((await visit()).status).toBe(401)
  })

  it('signs out by ending the session itself, not only the browser’s copy of the cookie', async () => {
    const cookie = await signIn()
    const other = await signIn()
    const response = await post('/dashboard/sign-out', {}, { cookie })
    expect(response.status).toBe(303)
    expect(response.headers.get('set-cookie')).toMatch(/^meridian_dashboard=; Max-Age=0/)
    expect((await page(cookie)).status).toBe(401)
    expect((await post('/dashboard/keys', { name: 'after sign-out' }, { cookie })).status).toBe(401)
    expect((await page(other)).status).toBe(200)
  })

  it('lets its own forms through as a browser posts them: the pages keep the Origin header (no no-referrer policy)', async () => {
    const form = await gatewayFetch('/dashboard')
    expect(form.headers.get('referrer-policy')).toBe('same-origin')
    expect(form.headers.get('strict-transport-security')).toBeNull()
    expect((await post('/dashboard/sign-in', { token: ADMIN_TOKEN }, { origin: 'null' })).status).toBe(403)
  })

  it('answers a body that is not the form it claims to be with a 400 page', async () => {
    const malformed = (headers: Record<string, string>, body: string) =>
      gatewayFetch('/dashboard/sign-in', { method: 'POST', headers: { origin: BASE, ...headers }, body, redirect: 'manual' })
    for (const response of [
      await malformed({ 'content-type': 'multipart/form-data' }, 'token=x'),
      await malformed({ 'content-type': 'multipart/form-data; boundary=zzz' }, 'not multipart at all'),
    ]) {
      expect(response.status).toBe(400)
      expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    }
    const cookie = await signIn()
    const keys = await gatewayFetch('/dashboard/keys', {
      method: 'POST',
      headers: { origin: BASE, cookie, 'content-type': 'multipart/form-data; boundary=zzz' },
      body: 'not multipart at all',
      redirect: 'manual',
    })
    expect(keys.status).toBe(400)
  })

  it('is off, saying why, while ADMIN_TOKEN is unset', async () => {
    const response = await viaApp(createApp(), new Request(`${BASE}/dashboard`), { ...env, ADMIN_TOKEN: undefined })
    expect(response.status).toBe(403)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await response.text()).toContain('set the ADMIN_TOKEN secret')
  })
})

describe('the dashboard’s page', () => {
  it('shows every provider with its secret’s presence and each endpoint’s circuit, and the keys with their spend', async () => {
    const { hash } = await createKey({ name: 'billing team', limit: 12.5, limit_reset: 'monthly', rate_limit: { requests_per_minute: 60 } })
    const body = await (await page(await signIn())).text()
    for (const name of ['Alpha', 'Beta', 'Gamma', 'Dark']) expect(body).toContain(`<strong>${name}</strong>`)
    expect(body).toContain('test/chat@alpha')
    expect(body).toMatch(/<strong>Dark<\/strong>[\s\S]*?<span class="tag off">missing<\/span>/)
    expect(body).toMatch(/<strong>Alpha<\/strong>[\s\S]*?<span class="tag ok">set<\/span>/)
    expect(body).toContain('<span class="tag ok">closed</span>')
    const row = body.slice(body.indexOf('<td>billing team</td>'))
    expect(row).toContain('$12.5')
    expect(row).toContain('monthly')
    expect(row).toContain('60 req/min')
    expect(row).toContain(`action="/dashboard/keys/${hash}"`)
  })

  it('escapes what tenants and the catalog named', async () => {
    await createKey({ name: '<img src=x onerror="alert(1)">' })
    const body = await (await page(await signIn())).text()
    expect(body).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;')
    expect(body).not.toContain('<img src=x')
  })

  it('answers a path it does not have with an HTML 404 that can still sign out, and a visitor with the sign-in form', async () => {
    const response = await page(await signIn(), '/dashboard/nowhere')
    expect(response.status).toBe(404)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    const body = await response.text()
    expect(body).toContain('No dashboard page at GET /dashboard/nowhere')
    expect(body).toContain('action="/dashboard/sign-out"')
    const visitor = await gatewayFetch('/dashboard/nowhere')
    expect(visitor.status).toBe(401)
    expect(await visitor.text()).toContain('action="/dashboard/sign-in"')
  })
})

describe('the dashboard’s key actions', () => {
  it('creates a key from the form, shows it once, and the key works with the limits given', async () => {
    const cookie = await signIn()
    const response = await post('/dashboard/keys', {
      name: 'from the dashboard',
      limit: '3',
      limit_reset: 'daily',
      requests_per_minute: '30',
      max_concurrency: '2',
      expires_on: '2099-01-31',
      allowed_models: 'test/*, test/claude',
    }, { cookie })
    expect(response.status).toBe(201)
    const key = /sk-mer-v1-[0-9a-f]{64}/.exec(await response.text())?.[0]
    expect(key).toBeDefined()
    const info = (await (await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })).json()) as { data: Record<string, unknown> }
    expect(info.data).toMatchObject({
      name: 'from the dashboard',
      limit: 3,
      limit_reset: 'daily',
      rate_limit: { requests: 30, interval: '1m' },
      max_concurrency: 2,
      expires_at: '2099-01-31T00:00:00.000Z',
    })
  })

  it('makes one key of a form sent twice (a reload of the page that showed it): the second gets a page saying so', async () => {
    const cookie = await signIn()
    const formId = /name="form_id" value="([0-9a-f-]{36})"/.exec(await (await page(cookie)).text())?.[1]
    expect(formId).toBeDefined()
    const fields = { name: 'sent twice', form_id: formId! }
    expect((await post('/dashboard/keys', fields, { cookie })).status).toBe(201)
    const again = await post('/dashboard/keys', fields, { cookie })
    expect(again.status).toBe(409)
    const body = await again.text()
    expect(body).toContain('already sent')
    expect(body).not.toMatch(/sk-mer-v1-/)
    const listed = (await (await adminFetch('/v1/keys?include_disabled=true')).json()) as { data: { name: string }[] }
    expect(listed.data.filter((key) => key.name === 'sent twice')).toHaveLength(1)
    // Each page load has a form of its own.
    const next = /name="form_id" value="([0-9a-f-]{36})"/.exec(await (await page(cookie)).text())?.[1]
    expect(next).not.toBe(formId)
    expect((await post('/dashboard/keys', { name: 'sent twice', form_id: next! }, { cookie })).status).toBe(201)
  })

  it('sets a token rate and allow-lists from the form, and the page shows them', async () => {
    const cookie = await signIn()
    const response = await post('/dashboard/keys', { name: 'narrow', tokens_per_minute: '5000', allowed_models: 'test/chat', allowed_providers: ' alpha,beta  gamma ' }, { cookie })
    expect(response.status).toBe(201)
    const row = (await (await page(cookie)).text()).split('<td>narrow</td>')[1]!
    expect(row).toContain('5000 tokens/min')
    expect(row).toContain('providers: alpha, beta, gamma')
    const hash = /action="\/dashboard\/keys\/([0-9a-f]{64})"/.exec(row)?.[1]
    const shown = (await (await adminFetch(`/v1/keys/${hash}`)).json()) as { data: Record<string, unknown> }
    expect(shown.data).toMatchObject({
      rate_limit: { requests_per_minute: null, tokens_per_minute: 5000 },
      allowed_models: ['test/chat'],
      allowed_providers: ['alpha', 'beta', 'gamma'],
    })
  })

  it.each([
    ['no name', { name: ' ' }, 'name'],
    ['a negative limit', { name: 'x', limit: '-1' }, 'limit'],
    ['a limit that is not a number', { name: 'x', limit: 'ten' }, 'limit'],
    ['an unknown reset', { name: 'x', limit_reset: 'hourly' }, 'limit_reset'],
    ['a fractional rate', { name: 'x', requests_per_minute: '1.5' }, 'rate_limit'],
    ['a rate in hexadecimal', { name: 'x', requests_per_minute: '0x1e' }, 'rate_limit'],
    ['a limit with an exponent', { name: 'x', limit: '1e2' }, 'limit'],
    ['a date that is not one', { name: 'x', expires_on: 'soon' }, 'expires_on: enter the day as YYYY-MM-DD'],
    // Typed where a browser shows no date picker: the advice given is a value the form takes.
    ['a date typed day first', { name: 'x', expires_on: '31/01/2099' }, 'such as 2027-01-31'],
    ['a date that does not exist', { name: 'x', expires_on: '2099-02-30' }, 'expires_at'],
  ])('refuses a form with %s, naming the field', async (_, fields, named) => {
    const response = await post('/dashboard/keys', fields, { cookie: await signIn() })
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await response.text()).toContain(named)
  })

  it('disables a key (it is refused at once) and enables it again', async () => {
    const cookie = await signIn()
    const { key, hash } = await createKey({ name: 'to disable' })
    const asKey = () => gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })
    const disabled = await post(`/dashboard/keys/${hash}`, { disabled: 'true' }, { cookie })
    expect(disabled.status).toBe(303)
    expect((await asKey()).status).toBe(401)
    const shown = await (await adminFetch(`/v1/keys/${hash}`)).json()
    expect(shown).toMatchObject({ data: { disabled: true } })
    expect(await (await page(cookie)).text()).toMatch(/<td>to disable<\/td>[\s\S]*?<span class="tag off">disabled<\/span>[\s\S]*?>Enable<\/button>/)
    expect((await post(`/dashboard/keys/${hash}`, { disabled: 'false' }, { cookie })).status).toBe(303)
    expect((await asKey()).status).toBe(200)
  })

  it('refuses actions without a session, from another site, on an unknown key, and past the size limit', async () => {
    const cookie = await signIn()
    const { hash } = await createKey({ name: 'untouched' })
    expect((await post(`/dashboard/keys/${hash}`, { disabled: 'true' })).status).toBe(401)
    expect((await post(`/dashboard/keys/${hash}`, { disabled: 'true' }, { cookie, origin: 'https://evil.example' })).status).toBe(403)
    expect((await post(`/dashboard/keys/${'0'.repeat(64)}`, { disabled: 'true' }, { cookie })).status).toBe(404)
    expect((await post('/dashboard/keys/not-a-hash', { disabled: 'true' }, { cookie })).status).toBe(400)
    expect((await post('/dashboard/keys', { name: 'x'.repeat(20_000) }, { cookie })).status).toBe(413)
    const shown = await (await adminFetch(`/v1/keys/${hash}`)).json()
    expect(shown).toMatchObject({ data: { disabled: false } })
  })
})

describe('the dashboard’s allow-list fields', () => {
  it.each([',', ' , ,', ',,\n,'])('read separators alone (%j) as not set, as a blank field, not as an allow-list refusing everything', async (value) => {
    const cookie = await signIn()
    const response = await post('/dashboard/keys', { name: 'stray comma', allowed_models: value, allowed_providers: value }, { cookie })
    expect(response.status).toBe(201)
    const key = /sk-mer-v1-[0-9a-f]{64}/.exec(await response.text())![0]
    const info = (await (await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })).json()) as { data: Record<string, unknown> }
    expect(info.data).toMatchObject({ allowed_models: null, allowed_providers: null })
  })
})

describe('the dashboard’s pages of keys', () => {
  it('lists keys newest first across pages, as within one, so a key just made is on the first page', async () => {
    const names: string[] = []
    for (let i = 0; i < 110; i++) {
      names.push(`paged-${String(i).padStart(3, '0')}`)
      await createKey({ name: names[i]! })
      // Creation times are in milliseconds: two keys made in one would be in either order.
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const cookie = await signIn()
    const shown: string[] = []
    let path: string | null = '/dashboard'
    while (path) {
      const body = await (await page(cookie, path)).text()
      shown.push(...[...body.matchAll(/<tr><td>(paged-\d{3})<\/td>/g)].map((match) => match[1]!))
      path = /href="(\/dashboard\?offset=\d+)"/.exec(body)?.[1] ?? null
    }
    expect(shown).toEqual(names.reverse())
  }, 60_000)
})

describe('the dashboard’s number fields', () => {
  it('reads a limit typed as ".5", which a number input sends as it is, as 0.5 USD', async () => {
    const response = await post('/dashboard/keys', { name: 'half a dollar', limit: '.5' }, { cookie: await signIn() })
    expect(response.status).toBe(201)
    const key = /<p class="secret">([^<]+)<\/p>/.exec(await response.text())![1]!
    const view = await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })
    expect(((await view.json()) as { data: { limit: number } }).data.limit).toBe(0.5)
  })
})

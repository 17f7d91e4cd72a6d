import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { csrf } from 'hono/csrf'
import { HTTPException } from 'hono/http-exception'
import { createMiddleware } from 'hono/factory'
import { secureHeaders } from 'hono/secure-headers'
import * as z from 'zod'
import { adminTokenOf, isAdmin } from '../api/auth'
import type { AppEnv } from '../api/context'
import { providerViews } from '../api/providers'
import { currentCatalog } from '../catalog/store'
import { GatewayError, invalidInput } from '../errors'
import { publishedHealth } from '../health/snapshot'
import { createKey, KEYS_PER_PAGE, listKeysAfter, listOffset, updateKey } from '../tenancy/directory'
import { KEY_PREFIX, KeyHash } from '../tenancy/keys'
import { emptyLedger } from '../tenancy/ledger'
import { keyMoney, keyView } from '../tenancy/view'
import { keyInputFromForm } from './forms'
import { alreadyCreatedPage, createdKeyPage, errorPage, keysPage, overviewPage, signInPage } from './pages'
import { endSession, hasSession, startSession } from './session'

/**
 * GET /dashboard: the operator's page (providers and their live health, keys and their spend, new
 * keys, disabling a key), signed into with ADMIN_TOKEN. Server-rendered HTML with no script; forms
 * post back here, and a post from another site is refused (Origin and Sec-Fetch-Site, on top of the
 * SameSite session cookie).
 */
export const dashboard = new Hono<AppEnv>()

/** A form is a few fields; anything longer is not one of ours. */
const FORM_LIMIT_BYTES = 16 * 1024

dashboard.use('*', async (c, next) => {
  c.set('errorResponse', (error) => htmlAnswer(errorPage(error.status, error.message, false), error.status, error.headers))
  await next()
  c.header('cache-control', 'no-store')
})
dashboard.use(
  '*',
  secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], styleSrc: ["'unsafe-inline'"], formAction: ["'self'"], frameAncestors: ["'none'"], baseUri: ["'none'"] },
    // Not no-referrer: under that policy a browser sends `Origin: null` with the page's own forms.
    referrerPolicy: 'same-origin',
    // A page under one path does not set transport policy for the whole host.
    strictTransportSecurity: false,
  }),
)
const sameOrigin = csrf()
dashboard.use('*', async (c, next) => {
  try {
    await sameOrigin(c, next)
  } catch (error) {
    // Only csrf's own refusal gets here: errors further in are answered where they are thrown.
    if (error instanceof HTTPException) throw new GatewayError(403, 'permission_denied', 'A form posted from another site is refused: use the dashboard’s own pages')
    throw error
  }
})
dashboard.use(
  '*',
  bodyLimit({
    maxSize: FORM_LIMIT_BYTES,
    onError: () => {
      throw new GatewayError(413, 'payload_too_large', `A dashboard form is at most ${FORM_LIMIT_BYTES} bytes`)
    },
  }),
)

function htmlAnswer(page: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(page, { status, headers: { ...headers, 'content-type': 'text/html; charset=UTF-8' } })
}

function adminToken(c: Context<AppEnv>): string {
  const token = adminTokenOf(c.env)
  if (!token) throw new GatewayError(403, 'permission_denied', 'The dashboard is disabled: set the ADMIN_TOKEN secret')
  return token
}

/** Pages and actions behind the sign-in: without a live session, the sign-in form (401). */
const signedIn = createMiddleware<AppEnv>(async (c, next) => {
  if (!(await hasSession(c, adminToken(c), c.get('clock')()))) return c.html(signInPage(null), 401)
  c.set('errorResponse', (error) => htmlAnswer(errorPage(error.status, error.message, true), error.status, error.headers))
  await next()
})

/** The posted form's fields; a body that is not a form is a 400, whatever its content type claims. */
async function formOf(c: Context<AppEnv>): Promise<Awaited<ReturnType<typeof c.req.parseBody>>> {
  try {
    return await c.req.parseBody()
  } catch {
    throw new GatewayError(400, 'invalid_request', 'The form could not be read: post it from the dashboard’s own page')
  }
}

const SignIn = z.object({ token: z.string().trim().min(1) })

dashboard.post('/sign-in', async (c) => {
  const token = adminToken(c)
  const form = SignIn.safeParse(await formOf(c))
  if (!form.success) return c.html(signInPage('Enter the admin token.'), 400)
  if (!(await isAdmin(c.env, form.data.token))) {
    const tenantKey = form.data.token.startsWith(KEY_PREFIX)
    return c.html(signInPage(tenantKey ? 'That is a tenant API key: sign in with the admin token.' : 'Invalid admin token.'), 401)
  }
  await startSession(c, token, c.get('clock')())
  return c.redirect('/dashboard', 303)
})

dashboard.post('/sign-out', async (c) => {
  await endSession(c, adminToken(c), c.get('clock')())
  return c.redirect('/dashboard', 303)
})

dashboard.get('/', signedIn, async (c) => {
  const now = c.get('clock')()
  const offset = listOffset(c.req.query('offset'))
  const [catalog, health, listing] = await Promise.all([
    currentCatalog(c.env, (p) => c.executionCtx.waitUntil(p), now),
    publishedHealth(c.env, now),
    listKeysAfter(c.env, { offset, includeDisabled: true, now }),
  ])
  return c.html(
    overviewPage({
      now,
      catalogVersion: catalog.document.version ?? null,
      models: catalog.document.models.length,
      providers: providerViews(c.env, catalog, health),
      keys: listing.keys.map((state) => ({ view: keyView(state.record, state.ledger, now), money: keyMoney(state.record, state.ledger, now) })),
      offset,
      nextOffset: listing.more ? offset + KEYS_PER_PAGE : null,
      formId: crypto.randomUUID(),
    }),
  )
})

/**
 * Each new-key form carries an id of its own; a form posted again (the browser's reload of the page
 * that showed the key, a second click) makes no second key. A post whose twin is still being served
 * by this isolate (a double click: both in flight at once) is refused at once; one after it finds
 * the KV mark the first wrote. KV is not atomic: twins served by two isolates in the same instant
 * could both pass.
 */
const SUBMITTED_PREFIX = 'dashboard/submitted/'
const SUBMISSION_TTL_S = 24 * 60 * 60
const FormId = z.uuid()
/** Form ids this isolate is creating a key for. */
const inFlight = new Set<string>()

dashboard.post('/keys', signedIn, async (c) => {
  const now = c.get('clock')()
  const form = await formOf(c)
  const formId = FormId.safeParse(form.form_id)
  /** The page showing the new key. */
  const create = async () => {
    const { key, record } = await createKey(c.env, keyInputFromForm(form), now)
    return createdKeyPage(key, keyView(record, emptyLedger(now), now))
  }
  if (!formId.success) return c.html(await create(), 201)
  const id = formId.data
  if (inFlight.has(id)) return c.html(alreadyCreatedPage(), 409)
  inFlight.add(id)
  try {
    const mark = SUBMITTED_PREFIX + id
    if ((await c.env.KV.get(mark)) !== null) return c.html(alreadyCreatedPage(), 409)
    const page = await create()
    await c.env.KV.put(mark, '', { expirationTtl: SUBMISSION_TTL_S }).catch((error: unknown) => {
      console.error('dashboard form mark not written', error instanceof Error ? error.message : String(error))
    })
    return c.html(page, 201)
  } finally {
    inFlight.delete(id)
  }
})

const Toggle = z.object({ disabled: z.enum(['true', 'false']), offset: z.string().optional() })

dashboard.post('/keys/:hash', signedIn, async (c) => {
  const hash = KeyHash.safeParse(c.req.param('hash'))
  if (!hash.success) throw invalidInput('key hash', hash.error.issues)
  const form = Toggle.safeParse(await formOf(c))
  if (!form.success) throw invalidInput('key update', form.error.issues)
  const state = await updateKey(c.env, hash.data, { disabled: form.data.disabled === 'true' }, c.get('clock')())
  if (!state) throw new GatewayError(404, 'not_found', `No key with hash ${hash.data}`)
  // Back to the page the key was listed on.
  return c.redirect(keysPage(listOffset(form.data.offset)), 303)
})

/** A page's path takes the methods listed; any other is a 405 naming them (not a 404: the page exists). */
for (const [path, allow] of [
  ['/', 'GET'],
  ['/sign-in', 'POST'],
  ['/sign-out', 'POST'],
  ['/keys', 'POST'],
  ['/keys/:hash', 'POST'],
] as const) {
  dashboard.all(path, signedIn, (c) => {
    throw new GatewayError(405, 'invalid_request', `${c.req.method} is not taken at ${c.req.path}: ${allow} is`, {}, { allow })
  })
}

/** Any other path: a 404 page, with the signed-in header (sign-out included) to a live session, the sign-in form to anyone else. */
dashboard.all('*', signedIn, (c) => {
  throw new GatewayError(404, 'not_found', `No dashboard page at ${c.req.method} ${c.req.path}`)
})

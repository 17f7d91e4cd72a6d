import { createExecutionContext, evictDurableObject, runInDurableObject } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { afterEach, beforeAll, expect, vi } from 'vitest'
import { HEALTH_KV_KEY, healthObject } from '../../src/health/health-do'
import { forgetLocalHealth } from '../../src/health/local'
import { dropQueuedReports } from '../../src/health/report'
import { forgetPublishedHealth } from '../../src/health/snapshot'
import worker from '../../src/index'
import { testCatalog } from './catalog'

/** Talking to the gateway through its front door, as a client would. */

export const ADMIN_TOKEN = 'test-admin-token'
export const BASE = 'http://gateway.test'

export function gatewayFetch(path: string, init: RequestInit & { cf?: object } = {}): Promise<Response> {
  return exports.default.fetch(`${BASE}${path}`, init)
}

export function adminFetch(path: string, init: RequestInit = {}): Promise<Response> {
  return gatewayFetch(path, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...init.headers },
  })
}

export async function installCatalog(catalog: unknown = testCatalog): Promise<void> {
  const response = await adminFetch('/v1/admin/catalog', { method: 'PUT', body: JSON.stringify(catalog) })
  if (response.status !== 200) throw new Error(`catalog install failed: ${response.status} ${await response.text()}`)
}

export async function createKey(body: object = { name: 'test' }): Promise<{ key: string; hash: string }> {
  const response = await adminFetch('/v1/keys', { method: 'POST', body: JSON.stringify(body) })
  if (response.status !== 201) throw new Error(`key creation failed: ${response.status} ${await response.text()}`)
  const json = (await response.json()) as { key: string; data: { hash: string } }
  return { key: json.key, hash: json.data.hash }
}

export function chat(key: string, body: object, path = '/v1/chat/completions', headers: Record<string, string> = {}): Promise<Response> {
  return gatewayFetch(path, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

/** A chat completion straight to the Worker with settings overridden (timeouts, keep-alive interval); its context, to wait on. */
export async function chatWithSettings(key: string, settings: Record<string, string>, body: object): Promise<{ response: Response; ctx: ExecutionContext }> {
  const ctx = createExecutionContext()
  const request = new Request(`${BASE}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { response: await worker.fetch(request, { ...env, ...settings }, ctx), ctx }
}

/** A generation's record as GET /v1/generation gives it (`undefined` until its settlement lands). */
export async function generationOf(key: string, id: string): Promise<Record<string, unknown> | undefined> {
  const response = await gatewayFetch(`/v1/generation?id=${id}`, { headers: { authorization: `Bearer ${key}` } })
  return ((await response.json()) as { data?: Record<string, unknown> }).data
}

export interface ErrorJson {
  error: { code: number; message: string; metadata: Record<string, unknown> }
}

/** Reads an SSE response to the end: data payloads (parsed), comment lines, and [DONE]. */
export async function readSse(response: Response): Promise<{ data: Record<string, unknown>[]; comments: string[]; done: boolean; raw: string }> {
  const raw = await response.text()
  const data: Record<string, unknown>[] = []
  const comments: string[] = []
  let done = false
  for (const block of raw.split('\n\n')) {
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line.slice(1).trim())
      else if (line === 'data: [DONE]') done = true
      else if (line.startsWith('data: ')) data.push(JSON.parse(line.slice(6)) as Record<string, unknown>)
    }
  }
  return { data, comments, done, raw }
}

/**
 * Named SSE events (Anthropic's and the Responses API's dialect) from a stream's text, checking
 * that each event's name is its payload's type. Comments (keep-alives) are skipped.
 */
export function namedEvents(text: string): Record<string, any>[] {
  return text
    .split('\n\n')
    .filter((block) => block && !block.startsWith(':'))
    .map((block) => {
      const [eventLine, dataLine] = block.split('\n')
      const payload = JSON.parse(dataLine!.slice('data: '.length)) as Record<string, any>
      expect(eventLine).toBe(`event: ${payload.type}`)
      return payload
    })
}

/**
 * Forgets all the health a test's requests left behind, after its reports have landed: a served
 * request reports a timer's turn after its answer (`offThePath`), so one turn lets them in first.
 * Gone are this isolate's own view, the observations waiting for its next flush, the HealthDO's
 * state and the snapshot it published to KV, and the isolate's copy of that snapshot. The copy
 * matters most: it is refreshed every HEALTH_REFRESH_MS, so in a test file longer than that a
 * refresh would bring in the latencies earlier tests published and reorder a later test's route.
 * (A request still running when its test ends, such as a stream the test left early, may report
 * later still: such a test waits for its record first.)
 */
export async function forgetServedHealth(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0))
  forgetLocalHealth(env)
  dropQueuedReports(env)
  const health = healthObject(env)
  // Its rows and marks, not its table: a report still on its way from the last test must find one.
  await runInDurableObject(health, async (_instance, state) => {
    await state.storage.deleteAlarm()
    state.storage.sql.exec('DELETE FROM endpoints')
    for (const [key] of state.storage.kv.list()) state.storage.kv.delete(key)
  })
  // It then holds nothing in memory either.
  await evictDurableObject(health)
  await env.KV.delete(HEALTH_KV_KEY)
  forgetPublishedHealth(env)
}

/**
 * The usual setup of a gateway test file: install a catalog and create a tenant key once; after
 * each test, restore fetch and forget this isolate's health observations so no case reorders the
 * next. Read `tenant.key` inside tests.
 */
export function setUpGateway(catalog: unknown = testCatalog): { key: string } {
  const tenant = { key: '' }
  beforeAll(async () => {
    await installCatalog(catalog)
    tenant.key = (await createKey()).key
  })
  afterEach(async () => {
    vi.restoreAllMocks()
    await forgetServedHealth()
  })
  return tenant
}

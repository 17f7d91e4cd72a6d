import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp } from '../../src/app'
import { configOf } from '../../src/config'
import type { Env } from '../../src/env'
import { recordLocally } from '../../src/health/local'
import { ALPHA, BETA, GAMMA, testCatalog } from '../support/catalog'
import { createKey, forgetServedHealth, installCatalog } from '../support/gateway'
import { fakeUpstreams, jsonResponse, latch, openaiCompletion } from '../support/upstream'

/**
 * The first model of a `models` list on one provider whose circuit is half-open: one request
 * probes it, and the others meanwhile go on to the fallback model (routing/plan.ts), rather than
 * each waiting on a provider that may still hang.
 */

let key: string
let now = Date.parse('2026-11-22T12:00:00Z')
const app = createApp({ clock: () => now })
const settings: Env = { ...env, HEALTH_FLUSH_MS: '1' }
const config = configOf(settings)

beforeAll(async () => {
  await installCatalog(testCatalog)
  key = (await createKey({ name: 'models-half-open' })).key
})
beforeEach(forgetServedHealth)
afterEach(() => vi.restoreAllMocks())

async function ask(body: object): Promise<string | null> {
  const ctx = createExecutionContext()
  const request = new Request('http://gateway.test/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const response = await app.fetch(request, settings, ctx)
  await response.arrayBuffer()
  await waitOnExecutionContext(ctx)
  return response.headers.get('x-meridian-provider')
}

describe('a half-open circuit of the first model of a models list', () => {
  it('is probed by one request: the others go on to the fallback model meanwhile', async () => {
    const t0 = now
    for (let i = 0; i < 3; i++) {
      recordLocally(settings, { endpoint: 'test/other@gamma', kind: 'timeout', at: t0 + i, ttfbMs: null, tokensPerSecond: null, retryAfterMs: null }, config)
    }
    now = t0 + config.CIRCUIT_OPEN_MS + 1_000
    const hanging = latch()
    let gammaCalls = 0
    const first = latch()
    const second = latch()
    fakeUpstreams({
      [GAMMA]: async () => {
        gammaCalls++
        if (gammaCalls === 1) first.release()
        if (gammaCalls === 2) second.release()
        await hanging.promise
        return jsonResponse({ error: { message: 'down' } }, 500)
      },
      [ALPHA]: () => jsonResponse(openaiCompletion()),
      [BETA]: () => jsonResponse({ error: { message: 'unused' } }, 500),
    })
    const body = { model: 'test/other', models: ['test/chat'], messages: [{ role: 'user', content: 'hi' }] }
    const probe = ask(body)
    await first.promise
    const other = ask(body)
    const which = await Promise.race([other.then((provider) => `served by ${provider}`), second.promise.then(() => 'sent to the hanging provider')])
    hanging.release()
    await Promise.all([probe, other])
    expect(which).toBe('served by alpha')
    expect(gammaCalls).toBe(1)
  })
})

import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp } from '../../src/app'
import { configOf } from '../../src/config'
import { HEALTH_KV_KEY } from '../../src/health/health-do'
import { recordLocally } from '../../src/health/local'
import { forgetPublishedHealth } from '../../src/health/snapshot'
import type { HealthView, Observation } from '../../src/health/types'
import type { Env } from '../../src/env'
import { createKey, forgetServedHealth, installCatalog } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion, type UpstreamHandler } from '../support/upstream'
import { askFromFrankfurt, twoRegionCatalog } from './two-regions'

/**
 * This isolate's failures opened a circuit; another isolate's half-open probe then closed it, and
 * the HealthDO published it closed with those failures cleared. This isolate takes the published
 * error rate from then on (stats.ts mergeViews), not its own failures for the rest of their window.
 */

const EU = 'http://127.0.0.1:9231/v1'
const US = 'http://127.0.0.1:9232/v1'
const catalog = twoRegionCatalog('recovered/chat', EU, US)

let key: string
let now = Date.parse('2026-11-22T12:00:00Z')
const app = createApp({ clock: () => now })
const settings: Env = { ...env, ROUTING_TIE_BAND_MS: '0', HEALTH_FLUSH_MS: '1' }
const config = configOf(settings)

beforeAll(async () => {
  await installCatalog(catalog)
  key = (await createKey({ name: 'recovered' })).key
})
beforeEach(forgetServedHealth)
afterEach(() => vi.restoreAllMocks())

const ask = () => askFromFrankfurt(app, settings, key, { model: 'recovered/chat', messages: [{ role: 'user', content: 'hi' }] })
const ok: UpstreamHandler = () => {
  now += 300
  return jsonResponse(openaiCompletion())
}
const seen = (kind: Observation['kind'], at: number, ttfbMs: number | null = null): Observation => ({
  endpoint: 'recovered/chat@eu',
  kind,
  at,
  ttfbMs,
  tokensPerSecond: null,
  retryAfterMs: null,
})

describe('an endpoint whose circuit another isolate’s probe closed', () => {
  it('gets this isolate’s traffic back, not only after the failures that opened it leave the window', async () => {
    fakeUpstreams({ [EU]: ok, [US]: ok })
    const t0 = now
    // This isolate: three successes, then three failures in a row open eu's circuit.
    for (let i = 0; i < 3; i++) recordLocally(settings, seen('success', t0 + i * 100, 300), config)
    for (let i = 0; i < 3; i++) recordLocally(settings, seen('server_error', t0 + 1_000 + i * 100), config)
    // CIRCUIT_OPEN_MS later another isolate's probe succeeded: the HealthDO closed the circuit,
    // cleared the failures, and published it.
    now = t0 + 1_200 + config.CIRCUIT_OPEN_MS + 1_000
    const closed: HealthView = { circuit: 'closed', coolingUntil: null, errorRate: 0, samples: 4, ttfbMs: 300, tokensPerSecond: 50, lastSeen: now }
    const us: HealthView = { ...closed, samples: 30 }
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: now, endpoints: { 'recovered/chat@eu': closed, 'recovered/chat@us': us } }))
    forgetPublishedHealth(env)
    now += 5_000
    // The client is in Frankfurt: eu is 60 ms nearer, closed, and as fast as us.
    expect(await ask()).toBe('eu')
  })
})

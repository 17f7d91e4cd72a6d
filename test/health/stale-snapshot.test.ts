import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp } from '../../src/app'
import { HEALTH_KV_KEY } from '../../src/health/health-do'
import { forgetPublishedHealth } from '../../src/health/snapshot'
import type { HealthView } from '../../src/health/types'
import { createKey, forgetServedHealth, installCatalog } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion, type UpstreamHandler } from '../support/upstream'
import { askFromFrankfurt, twoRegionCatalog } from './two-regions'

/**
 * The isolate's copy of the published snapshot is served while a background refresh runs, so
 * after a quiet spell the first request routes on a copy as old as the spell. Its circuits are
 * aged to now; so is the error rate of its window: an hour-old window holds nothing now.
 */
const EU = 'http://127.0.0.1:9221/v1'
const US = 'http://127.0.0.1:9222/v1'
const catalog = twoRegionCatalog('stale/chat', EU, US)

let key: string
let now = Date.parse('2026-11-22T12:00:00Z')
const app = createApp({ clock: () => now })
const settings = { ...env, ROUTING_TIE_BAND_MS: '0', HEALTH_FLUSH_MS: '1' }

beforeAll(async () => {
  await installCatalog(catalog)
  key = (await createKey({ name: 'stale' })).key
})
beforeEach(forgetServedHealth)
afterEach(() => vi.restoreAllMocks())

const ask = () => askFromFrankfurt(app, settings, key, { model: 'stale/chat', messages: [{ role: 'user', content: 'hi' }] })

const ok: UpstreamHandler = () => {
  now += 300
  return jsonResponse(openaiCompletion())
}

describe('a published error rate, an hour after it was published', () => {
  it('no longer steers the first request after a quiet spell away from the nearest provider', async () => {
    fakeUpstreams({ [EU]: ok, [US]: ok })
    // During an incident: 4 of eu's last 10 attempts failed (not enough to open its circuit).
    const incident: HealthView = { circuit: 'closed', coolingUntil: null, errorRate: 0.4, samples: 10, ttfbMs: 300, tokensPerSecond: 50, lastSeen: now }
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: now, endpoints: { 'stale/chat@eu': incident } }))
    forgetPublishedHealth(env)
    expect(await ask()).toBe('us') // steered away while the incident is current
    // An hour of silence: the copy the isolate keeps is served while it refreshes.
    now += 3_600_000
    expect(await ask()).toBe('eu')
  })
})

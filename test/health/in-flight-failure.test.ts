import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp } from '../../src/app'
import { configOf } from '../../src/config'
import type { Env } from '../../src/env'
import { localView } from '../../src/health/local'
import { createKey, forgetServedHealth, installCatalog } from '../support/gateway'
import { fakeUpstreams, jsonResponse, latch, openaiCompletion } from '../support/upstream'
import { askFromFrankfurt, twoRegionCatalog } from './two-regions'

/**
 * A request sent before a circuit opened that fails after the circuit turned half-open is no failed
 * probe: it does not re-open the circuit (stats.ts onFailure, by the attempt's send time). A provider
 * that stalled leaves many such requests in flight, each of which ended a recovery.
 */

const EU = 'http://127.0.0.1:9251/v1'
const US = 'http://127.0.0.1:9252/v1'
const catalog = twoRegionCatalog('inflight/chat', EU, US)

let key: string
let now = Date.parse('2026-11-22T12:00:00Z')
const app = createApp({ clock: () => now })
const settings: Env = { ...env, ROUTING_TIE_BAND_MS: '0', HEALTH_FLUSH_MS: '1' }
const config = configOf(settings)

beforeAll(async () => {
  await installCatalog(catalog)
  key = (await createKey({ name: 'inflight' })).key
})
beforeEach(forgetServedHealth)
afterEach(() => vi.restoreAllMocks())

const ask = () => askFromFrankfurt(app, settings, key, { model: 'inflight/chat', messages: [{ role: 'user', content: 'hi' }] })

describe('a request in flight when a circuit opened', () => {
  it('does not re-open the circuit when it fails after the circuit turned half-open', async () => {
    let euDown = false
    let hold = false
    const held = latch()
    const sent = latch()
    fakeUpstreams({
      [EU]: async () => {
        if (hold) {
          hold = false
          sent.release()
          await held.promise
          return jsonResponse({ error: { message: 'stalled' } }, 502)
        }
        if (euDown) return jsonResponse({ error: { message: 'down' } }, 500)
        now += 300
        return jsonResponse(openaiCompletion())
      },
      [US]: () => {
        now += 300
        return jsonResponse(openaiCompletion())
      },
    })
    expect(await ask()).toBe('eu')
    now += 1_000
    const t0 = now
    hold = true
    euDown = true
    const inFlight = ask()
    await sent.promise
    for (let i = 0; i < 3; i++) {
      now += 100
      expect(await ask()).toBe('us')
    }
    expect(localView(settings, 'inflight/chat@eu', now)?.circuit).toBe('open')
    euDown = false
    now = t0 + 400 + config.CIRCUIT_OPEN_MS + 1_000
    held.release()
    expect(await inFlight).toBe('us')
    expect(localView(settings, 'inflight/chat@eu', now)?.circuit).toBe('half_open')
    expect(await ask()).toBe('eu')
  })
})

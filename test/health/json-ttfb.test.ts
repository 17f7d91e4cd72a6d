import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp } from '../../src/app'
import { localView } from '../../src/health/local'
import { createKey, forgetServedHealth, installCatalog } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'
import { askFromFrankfurt, twoRegionCatalog } from './two-regions'

/**
 * Health's `ttfbMs` is the time to the upstream's first byte: the response headers for JSON
 * (health/types.ts), as the cron probes measure it. A non-streaming answer's generation time is
 * not, or one long answer makes the nearest provider look slow and routing moves away from it.
 */
const EU = 'http://127.0.0.1:9211/v1'
const US = 'http://127.0.0.1:9212/v1'
const catalog = twoRegionCatalog('ttfb/chat', EU, US)

let key: string
let now = Date.parse('2026-11-22T12:00:00Z')
const app = createApp({ clock: () => now })
const settings = { ...env, ROUTING_TIE_BAND_MS: '0', HEALTH_FLUSH_MS: '1' }

beforeAll(async () => {
  await installCatalog(catalog)
  key = (await createKey({ name: 'ttfb' })).key
})
beforeEach(forgetServedHealth)
afterEach(() => vi.restoreAllMocks())

const ask = () => askFromFrankfurt(app, settings, key, { model: 'ttfb/chat', max_tokens: 800, messages: [{ role: 'user', content: 'write a long essay' }] })

/** Headers after 200 ms, then the whole JSON body 20 s later (a long non-streaming generation). */
function longAnswer() {
  now += 200
  const body = JSON.stringify(openaiCompletion({ content: 'essay '.repeat(700), usage: { prompt_tokens: 10, completion_tokens: 800, total_tokens: 810 } }))
  let sent = false
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.close()
        now += 20_000
        sent = true
        controller.enqueue(new TextEncoder().encode(body))
      },
    }, { highWaterMark: 0 }),
    { headers: { 'content-type': 'application/json' } },
  )
}

describe('a non-streaming answer’s time to first byte', () => {
  it('is the time to its headers, so a long answer does not make the nearest provider look slow', async () => {
    fakeUpstreams({ [EU]: longAnswer, [US]: () => jsonResponse(openaiCompletion()) })
    expect(await ask()).toBe('eu')
    const ttfbMs = localView(env, 'ttfb/chat@eu', now)?.ttfbMs
    // The next client in Frankfurt still goes to Frankfurt (60 ms closer than Ashburn).
    const next = await ask()
    expect({ ttfbMs, next }).toEqual({ ttfbMs: 200, next: 'eu' })
  })
})

import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { createApp } from '../../src/app'
import { localView } from '../../src/health/local'
import worker from '../../src/index'
import { ALPHA, GAMMA } from '../support/catalog'
import { BASE, createKey, gatewayFetch, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * A traced request reads the key's allow-lists from its object (gateway/trace.ts). That read comes
 * before admission: when it fails, the request is a 503 to retry and holds no reservation, which
 * would otherwise be charged in full when it expired.
 */

const tenant = setUpGateway()

/** The KEYS namespace, with every object's `read` failing (an object overloaded or moving). */
function keysWhoseReadsFail(): typeof env.KEYS {
  const namespace = env.KEYS
  return new Proxy(namespace, {
    get(target, property) {
      if (property !== 'get') return Reflect.get(target, property, target)
      return (id: DurableObjectId) => {
        const stub = target.get(id)
        return new Proxy(stub, {
          get(inner, name) {
            if (name === 'read') return () => Promise.reject(new Error('object overloaded'))
            const value: unknown = Reflect.get(inner, name, inner)
            return typeof value === 'function' ? value.bind(inner) : value
          },
        })
      }
    },
  })
}

describe('the key read a routing trace needs', () => {
  it('is a 503 to retry when it fails, holding no reservation and calling no provider', async () => {
    const { key } = await createKey({ name: 'traced' })
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const request = new Request(`${BASE}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-meridian-debug': 'route' },
      body: JSON.stringify({ model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] }),
    })
    const ctx = createExecutionContext()
    const response = await worker.fetch(request, { ...env, KEYS: keysWhoseReadsFail() }, ctx)
    await waitOnExecutionContext(ctx)
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('1')
    expect(upstream.calls).toHaveLength(0)
    const view = ((await (await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })).json()) as { data: { reserved: number; requests_in_flight: number } }).data
    expect(view).toMatchObject({ reserved: 0, requests_in_flight: 0 })
  })
})

describe('a traced request whose key read fails, having planned a half-open probe', () => {
  it('gives the probe’s mark back: the isolate’s next request probes the recovered provider', async () => {
    let now = Date.parse('2026-11-22T12:00:00Z')
    const app = createApp({ clock: () => now })
    const settings = { CIRCUIT_OPEN_MS: '1000', HEALTH_FLUSH_MS: '1' }
    const ask = { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], provider: { order: ['alpha', 'gamma'] } }
    const send = async (env_: typeof env, headers: Record<string, string> = {}) => {
      const ctx = createExecutionContext()
      const request = new Request(`${BASE}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${tenant.key}`, ...headers }, body: JSON.stringify(ask) })
      const response = await app.fetch(request, { ...env_, ...settings }, ctx)
      await response.arrayBuffer()
      await waitOnExecutionContext(ctx)
      return response
    }
    let alpha: 'failing' | 'serving' = 'failing'
    const upstream = fakeUpstreams({
      [ALPHA]: () => (alpha === 'failing' ? jsonResponse({ error: { message: 'down' } }, 503) : jsonResponse(openaiCompletion({ content: 'from alpha' }))),
      [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'from gamma' })),
    })
    for (let i = 0; i < 3; i++) expect((await send(env)).headers.get('x-meridian-provider')).toBe('gamma')
    now += 1_000
    expect(localView(env, 'test/chat@alpha', now)?.circuit).toBe('half_open')
    alpha = 'serving'
    const before = upstream.calls.length

    vi.spyOn(console, 'error').mockImplementation(() => {})
    expect((await send({ ...env, KEYS: keysWhoseReadsFail() }, { 'x-meridian-debug': 'route' })).status).toBe(503)
    expect(upstream.calls.length).toBe(before)

    // Nobody is probing alpha: the next request is its probe, and alpha (recovered) serves it.
    expect((await send(env)).headers.get('x-meridian-provider')).toBe('alpha')
  })
})

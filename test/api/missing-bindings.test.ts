import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { createKey, installCatalog, type ErrorJson } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * A Worker deployed without one of its bindings (a named wrangler environment does not inherit
 * `kv_namespaces` or `durable_objects`) must answer every request with an OpenAI-shaped error that
 * says what is wrong, never the masked "Internal gateway error", and never make a client wait.
 */

beforeAll(() => installCatalog())
afterEach(() => vi.restoreAllMocks())

const ask = { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] }

async function chatWithout(binding: string, key: string): Promise<Response> {
  const { [binding]: _missing, ...rest } = env as unknown as Record<string, unknown>
  const request = new Request('http://gateway.test/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(ask),
  })
  return worker.fetch(request, rest as unknown as typeof env, createExecutionContext())
}

describe('a deployment missing a binding', () => {
  it.each(['KV', 'KEYS', 'HEALTH'])('without %s: inference is served, or refused with an error naming the binding (not a masked 500)', async (binding) => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'ok' })), [BETA]: () => jsonResponse({}), [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'ok' })) })
    const { key } = await createKey({ name: `without-${binding}` })
    const response = await chatWithout(binding, key)
    if (response.status === 200) return
    const { error } = (await response.json()) as ErrorJson
    expect(error.message).not.toBe('Internal gateway error')
    expect(error.message).toContain(binding)
  })

  it('a key object that cannot even be called (its namespace throws) leaves the key’s queue free: the next request answers at once', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const { key } = await createKey({ name: 'throwing-namespace' })
    const throwing = { ...env, KEYS: { idFromName: () => { throw new Error('namespace unavailable') }, get: () => { throw new Error('namespace unavailable') } } } as unknown as typeof env
    const send = () => worker.fetch(new Request('http://gateway.test/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(ask) }), throwing, createExecutionContext())
    expect((await send()).status).toBe(503)
    // Stuck "busy", the key's queue made the next request wait out STALE_CALL_MS (30 s), past this test's timeout.
    expect((await send()).status).toBe(503)
  })
})

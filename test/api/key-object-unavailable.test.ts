import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { createKey, installCatalog } from '../support/gateway'

/**
 * A key's object that fails to answer (reset by a deploy, overloaded) is a 503 the client may
 * retry, on every route that calls it (gateway/admissions.ts keyObjectUnavailable), never a 500.
 */

beforeAll(() => installCatalog())

const reset = () => Promise.reject(new Error('Durable Object reset because its code was updated'))
/** KEYS whose objects reject every call. */
const failing = {
  idFromName: (name: string) => env.KEYS.idFromName(name),
  get: () => ({ admit: reset, admitCount: reset, read: reset, generation: reset, storedResponse: reset, storedInput: reset, forgetResponse: reset }),
}

async function send(path: string, key: string, init: RequestInit = {}): Promise<Response> {
  const request = new Request(`http://gateway.test${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } })
  return worker.fetch(request, { ...env, KEYS: failing as unknown as typeof env.KEYS }, createExecutionContext())
}

describe('a key object that fails to answer', () => {
  it.each([
    ['chat', '/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] }) }],
    ['count_tokens', '/v1/messages/count_tokens', { method: 'POST', body: JSON.stringify({ model: 'test/claude', messages: [{ role: 'user', content: 'hi' }] }) }],
    ['GET /v1/key', '/v1/key', {}],
    ['GET /v1/generation', '/v1/generation?id=gen-1700000000-abc', {}],
    ['GET /v1/models?user=true', '/v1/models/user', {}],
    ['GET /v1/responses/{id}', '/v1/responses/resp_abc', {}],
  ])('is a retryable 503 on %s', async (_, path, init) => {
    const { key } = await createKey({ name: 'unavailable' })
    const response = await send(path, key, init)
    expect(response.status, await response.clone().text()).toBe(503)
    expect(response.headers.get('retry-after')).toBe('1')
  })
})

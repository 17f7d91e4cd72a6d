import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { localView } from '../../src/health/local'
import { ALPHA } from '../support/catalog'
import { chat, setUpGateway } from '../support/gateway'
import { data, fakeUpstreams, jsonResponse, sseResponse } from '../support/upstream'

/**
 * An OpenAI-format error whose type says what it is and whose code is no status (OpenAI's own
 * `invalid_request_error` with `code: null`) means the same in a stream's first event as in a body:
 * the client's 400 (no failover, nothing against the endpoint), or a 429 that cools it.
 */
const tenant = setUpGateway()

/** Only Alpha (OpenAI format) serves: no failover muddies which endpoint was observed. */
const ask = { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], provider: { only: ['alpha'] } }
const invalid = { message: "Invalid 'messages[0].content': string too long.", type: 'invalid_request_error', param: 'messages[0].content', code: null }

async function streamThrice(): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) {
    const response = await chat(tenant.key, { ...ask, stream: true })
    statuses.push(response.status)
    await response.text()
  }
  return statuses
}

describe('an OpenAI-format error typed by its type, with no status in its code', () => {
  it('in a 200 JSON body is the client’s 400 and leaves the endpoint healthy', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse({ error: invalid }) })
    for (let i = 0; i < 3; i++) expect((await chat(tenant.key, ask)).status).toBe(400)
    expect(localView(env, 'test/chat@alpha', Date.now())).toBeUndefined()
  })

  it('as a stream’s first event is the same 400, and three of them do not open the endpoint’s circuit', async () => {
    fakeUpstreams({ [ALPHA]: () => sseResponse([data({ error: invalid })]) })
    const statuses = await streamThrice()
    const circuit = localView(env, 'test/chat@alpha', Date.now())?.circuit ?? 'closed'
    expect({ statuses, circuit }).toEqual({ statuses: [400, 400, 400], circuit: 'closed' })
  })

  it('typed rate_limit_error as a stream’s first event is a 429 that cools the endpoint, not a failure that opens its circuit', async () => {
    const limited = { message: 'Rate limit reached for requests', type: 'rate_limit_error', param: null, code: null }
    fakeUpstreams({ [ALPHA]: () => sseResponse([data({ error: limited })]) })
    const statuses = await streamThrice()
    const view = localView(env, 'test/chat@alpha', Date.now())
    expect({ statuses, circuit: view?.circuit, cooling: view?.coolingUntil != null }).toEqual({ statuses: [429, 429, 429], circuit: 'closed', cooling: true })
  })
})

import { describe, expect, it, vi } from 'vitest'
import { ALPHA } from '../support/catalog'
import { gatewayFetch, generationOf, readSse, setUpGateway } from '../support/gateway'
import { data, fakeUpstreams, sseResponse } from '../support/upstream'

/**
 * The routing trace (X-Meridian-Debug: route) of a stream whose provider fails after its first
 * token says what the generation record says (attempt-log.test.ts): that attempt was no success.
 */
const tenant = setUpGateway()

const textChunk = (content: string) => data({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })
type Traced = { meridian_route: { attempts: { outcome: string }[] }; openrouter_metadata: { summary: string; attempts: { outcome: string }[] } }
type Attempts = { provider_responses: Array<{ outcome: string }> }

describe('the routing trace of a stream whose provider fails after the first token', () => {
  it('does not call the failed attempt a success', async () => {
    fakeUpstreams({ [ALPHA]: () => sseResponse([textChunk('Hel'), data({ error: { message: 'upstream overloaded' } })]) })
    const response = await gatewayFetch('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json', 'x-meridian-debug': 'route' },
      body: JSON.stringify({ model: 'test/chat', stream: true, messages: [{ role: 'user', content: 'hi' }], provider: { only: ['alpha'] } }),
    })
    const { data: chunks } = await readSse(response)
    expect(chunks.find((chunk) => chunk.error)).toMatchObject({ choices: [{ finish_reason: 'error' }] })
    const traced = chunks.find((chunk) => chunk.meridian_route) as unknown as Traced
    const id = response.headers.get('x-generation-id')!
    await vi.waitFor(async () => expect(await generationOf(tenant.key, id)).toBeDefined())
    const record = (await generationOf(tenant.key, id)) as unknown as Attempts
    expect(record.provider_responses.map((attempt) => attempt.outcome)).toEqual(['upstream_error'])
    expect({
      meridian_route: traced.meridian_route.attempts.map((attempt) => attempt.outcome),
      openrouter_metadata: traced.openrouter_metadata.attempts.map((attempt) => attempt.outcome),
      summarySaysServed: traced.openrouter_metadata.summary.startsWith('Served by'),
    }).toEqual({ meridian_route: ['upstream_error'], openrouter_metadata: ['upstream_error'], summarySaysServed: false })
  })
})

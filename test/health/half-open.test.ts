import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { localView } from '../../src/health/local'
import { ALPHA, GAMMA } from '../support/catalog'
import { BASE, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, never, openaiCompletion } from '../support/upstream'

/** A half-open circuit lets one probe through (docs/health.md): the rest go elsewhere until its outcome is known. */

const tenant = setUpGateway()

async function chatWith(settings: Record<string, string>, body: unknown): Promise<Response> {
  const ctx = createExecutionContext()
  const request = new Request(`${BASE}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${tenant.key}` }, body: JSON.stringify(body) })
  const response = await worker.fetch(request, { ...env, ...settings }, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

describe('a half-open circuit', () => {
  it('lets one probe through, not every request that arrives while it is half-open', async () => {
    const settings = { CIRCUIT_OPEN_MS: '1000', TIMEOUT_NON_STREAMING_MS: '300', HEALTH_FLUSH_MS: '1' }
    const upstream = fakeUpstreams({ [ALPHA]: never, [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'from gamma' })) })
    const ask = { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], provider: { order: ['alpha', 'gamma'] } }
    for (let i = 0; i < 3; i++) expect((await chatWith(settings, ask)).status).toBe(200)
    expect(localView(env, 'test/chat@alpha', Date.now())?.circuit).toBe('open')
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(localView(env, 'test/chat@alpha', Date.now())?.circuit).toBe('half_open')
    const before = upstream.calls.filter((call) => call.url.startsWith(ALPHA)).length
    const answers = await Promise.all(Array.from({ length: 5 }, () => chatWith(settings, ask)))
    for (const answer of answers) expect(answer.status).toBe(200)
    expect(upstream.calls.filter((call) => call.url.startsWith(ALPHA)).length - before).toBe(1)
  })
})

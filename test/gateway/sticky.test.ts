import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterAll, describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { ALPHA, BETA, GAMMA, testCatalog } from '../support/catalog'
import { BASE, installCatalog, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

const tenant = setUpGateway()

type Traced = { meridian_route: { sticky: string | null; candidates: { provider: string }[] } }

const anthropicAnswer = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [{ type: 'text', text: 'Hi' }], stop_reason: 'end_turn', usage: { input_tokens: 3, output_tokens: 1 } }

describe('sticky routing for prompt caches', () => {
  afterAll(() => installCatalog())

  it('keeps a conversation to one provider among equals when they discount cached prompts, keyed as the client says', async () => {
    await installCatalog({
      ...testCatalog,
      models: testCatalog.models.map((model) =>
        model.id === 'test/chat' ? { ...model, endpoints: model.endpoints.map((e) => ({ ...e, pricing: { ...e.pricing, cacheRead: '0.0000001' } })) } : model,
      ),
    })
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()), [BETA]: () => jsonResponse(anthropicAnswer), [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const ask = async (body: object, headers: Record<string, string> = {}) => {
      // All equals, whatever the in-process latencies (the tests' setting is 0: catalog order).
      const request = new Request(`${BASE}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json', 'x-meridian-debug': 'route', ...headers },
        body: JSON.stringify({ model: 'test/chat', ...body }),
      })
      const response = await worker.fetch(request, { ...env, ROUTING_TIE_BAND_MS: '600000' }, createExecutionContext())
      expect(response.status).toBe(200)
      const trace = ((await response.json()) as Traced).meridian_route
      return { provider: response.headers.get('x-meridian-provider'), sticky: trace.sticky }
    }
    // Until every endpoint has a latency figure, one being renewed leaves the equals for a moment.
    const warmed = new Set<string | null>()
    for (let i = 0; i < 30 && warmed.size < 3; i++) warmed.add((await ask({ messages: [{ role: 'user', content: `warm-up ${i}` }] })).provider)
    expect(warmed.size).toBe(3)
    const turns = (n: number) => [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Topic A' }, ...Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'user' : 'assistant', content: `turn ${i}` }))]
    const served = [] as { provider: string | null; sticky: string | null }[]
    for (let n = 0; n < 6; n += 2) served.push(await ask({ messages: turns(n) }))
    expect(new Set(served.map((s) => s.provider)).size).toBe(1)
    expect(served[0]!.sticky).toBe('conversation')

    const bySession = [] as (string | null)[]
    for (let i = 0; i < 4; i++) bySession.push((await ask({ messages: [{ role: 'user', content: `unrelated ${i}` }] }, { 'x-session-id': 'session-7' })).provider)
    expect(new Set(bySession).size).toBe(1)
    expect((await ask({ messages: [{ role: 'user', content: 'x' }], session_id: 'body-wins' }, { 'x-session-id': 'session-7' })).sticky).toBe('session_id')
    // Claude Code names its session in a header of its own.
    const claudeCode = await ask({ messages: [{ role: 'user', content: 'y' }] }, { 'x-claude-code-session-id': '54c1eb09-bc4c-4d2f-98eb-6d2ab2d5e2fe' })
    expect(claudeCode.sticky).toBe('x-claude-code-session-id')
  })
})

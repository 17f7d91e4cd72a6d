import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { ALPHA, BETA, testCatalog } from '../support/catalog'
import { BASE, gatewayFetch, installCatalog, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse } from '../support/upstream'

const tenant = setUpGateway()

const claudeAnswer = {
  id: 'msg_up',
  type: 'message',
  role: 'assistant',
  model: 'claude-test',
  content: [{ type: 'text', text: 'Hi.' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 10, output_tokens: 2 },
}
const ask = { model: 'test/claude', max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }] }

function post(path: string, body: object, headers: Record<string, string>): Promise<Response> {
  return gatewayFetch(path, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

describe('Anthropic betas', () => {
  it("sends an Anthropic-format provider the allowed betas a Messages client asks for, and drops the rest", async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(claudeAnswer) })
    const response = await post('/v1/messages', ask, {
      'anthropic-version': '2023-06-01',
      // As Claude Code sends it: betas of Anthropic's own API beside ones any provider serves.
      'anthropic-beta': 'claude-code-20250219, Interleaved-Thinking-2025-05-14,oauth-2025-04-20,fine-grained-tool-streaming-2025-05-14',
    })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.headers.get('anthropic-beta')).toBe('interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14')
  })

  it('sends none when none is asked for, or none asked for is allowed', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(claudeAnswer) })
    expect((await post('/v1/messages', ask, {})).status).toBe(200)
    expect((await post('/v1/messages', ask, { 'anthropic-beta': 'context-1m-2025-08-07' })).status).toBe(200)
    expect(upstream.calls.map((call) => call.headers.get('anthropic-beta'))).toEqual([null, null])
  })

  it("takes OpenRouter's x-anthropic-beta on chat completions, and sends it only to Anthropic-format attempts", async () => {
    const upstream = fakeUpstreams({
      [ALPHA]: () => jsonResponse({ error: { message: 'down' } }, 500),
      [BETA]: () => jsonResponse(claudeAnswer),
    })
    const response = await post(
      '/v1/chat/completions',
      { model: 'test/chat', messages: [{ role: 'user', content: 'Hello' }], provider: { order: ['alpha', 'beta'] } },
      { 'x-anthropic-beta': 'token-efficient-tools-2025-02-19' },
    )
    expect(response.status).toBe(200)
    expect(upstream.calls.map((call) => [call.url, call.headers.get('anthropic-beta')])).toEqual([
      [`${ALPHA}/chat/completions`, null],
      [`${BETA}/messages`, 'token-efficient-tools-2025-02-19'],
    ])
  })

  it('takes both headers together, each beta once', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(claudeAnswer) })
    await post('/v1/messages', ask, {
      'anthropic-beta': 'interleaved-thinking-2025-05-14',
      'x-anthropic-beta': 'token-efficient-tools-2025-02-19,interleaved-thinking-2025-05-14',
    })
    expect(upstream.calls[0]!.headers.get('anthropic-beta')).toBe('interleaved-thinking-2025-05-14,token-efficient-tools-2025-02-19')
  })

  it("keeps a provider's own betas from the catalog beside the client's", async () => {
    await installCatalog({
      ...testCatalog,
      providers: testCatalog.providers.map((provider) =>
        provider.id === 'beta' ? { ...provider, headers: { 'Anthropic-Beta': 'prompt-tools-2025-04-02', 'anthropic-beta': 'other-2025-01-01' } } : provider,
      ),
    })
    try {
      const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(claudeAnswer) })
      await post('/v1/messages', ask, { 'anthropic-beta': 'interleaved-thinking-2025-05-14' })
      await post('/v1/messages', ask, {})
      expect(upstream.calls.map((call) => call.headers.get('anthropic-beta'))).toEqual([
        'prompt-tools-2025-04-02,other-2025-01-01,interleaved-thinking-2025-05-14',
        'prompt-tools-2025-04-02, other-2025-01-01',
      ])
    } finally {
      await installCatalog()
    }
  })

  it('forwards the betas ANTHROPIC_BETAS names instead of the default ones, and on token counts too', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse({ input_tokens: 7 }) })
    const configured = { ...env, ANTHROPIC_BETAS: 'context-management-2025-06-27' }
    const count = (beta: string) =>
      worker.fetch(
        new Request(`${BASE}/v1/messages/count_tokens`, {
          method: 'POST',
          headers: { 'x-api-key': tenant.key, 'content-type': 'application/json', 'anthropic-beta': beta },
          body: JSON.stringify(ask),
        }),
        configured,
        createExecutionContext(),
      )
    expect((await count('context-management-2025-06-27,interleaved-thinking-2025-05-14')).status).toBe(200)
    expect(upstream.calls[0]!.url).toBe(`${BETA}/messages/count_tokens`)
    expect(upstream.calls[0]!.headers.get('anthropic-beta')).toBe('context-management-2025-06-27')
  })
})

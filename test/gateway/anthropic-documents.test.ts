import { describe, expect, it } from 'vitest'
import { BETA } from '../support/catalog'
import { gatewayFetch, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse } from '../support/upstream'

/**
 * A /v1/messages document's `title` and `context` (Anthropic's DocumentBlockParam) reach the model,
 * and are counted by count_tokens: a PDF keeps its title, its context goes beside it; a text
 * document goes as text headed by both.
 */

const tenant = setUpGateway()
const claudeAnswer = {
  id: 'msg_up',
  type: 'message',
  role: 'assistant',
  model: 'claude-test',
  content: [{ type: 'text', text: 'Done.' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 10, output_tokens: 2 },
}

function post(path: string, body: object): Promise<Response> {
  return gatewayFetch(path, {
    method: 'POST',
    headers: { 'x-api-key': tenant.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

describe('a document’s title and context', () => {
  it.each([
    ['a PDF', { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQK' }],
    ['a plain-text document', { type: 'text', media_type: 'text/plain', data: 'Revenue rose 4%.' }],
  ])('reach the model and the count for %s', async (_kind, source) => {
    const upstream = fakeUpstreams({ [BETA]: (request) => jsonResponse(new URL(request.url).pathname.endsWith('/count_tokens') ? { input_tokens: 321 } : claudeAnswer) })
    const document = { type: 'document', source, title: 'Q3 report', context: 'Internal draft, figures unaudited' }
    const body = { model: 'test/claude', max_tokens: 64, messages: [{ role: 'user', content: [document, { type: 'text', text: 'Summarise.' }] }] }
    expect((await post('/v1/messages', body)).status).toBe(200)
    const { max_tokens: _max, ...counted } = body
    expect((await post('/v1/messages/count_tokens', counted)).status).toBe(200)
    expect(upstream.calls).toHaveLength(2)
    for (const call of upstream.calls) {
      const sent = JSON.stringify(call.body.messages)
      expect(sent).toContain('Q3 report')
      expect(sent).toContain('Internal draft, figures unaudited')
    }
  })
})

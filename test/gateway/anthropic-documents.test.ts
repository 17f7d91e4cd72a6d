import { describe, expect, it } from 'vitest'
import { BETA } from '../support/catalog'
import { chat, setUpGateway } from '../support/gateway'
import { anthropicText, fakeUpstreams, jsonResponse } from '../support/upstream'

/**
 * A /v1/messages document's `title` and `context` (Anthropic's DocumentBlockParam) reach the model,
 * and are counted by count_tokens: a PDF keeps its title, its context goes beside it; a text
 * document goes as text headed by both.
 */

const tenant = setUpGateway()
const claudeAnswer = anthropicText('Done.')

describe('a document’s title and context', () => {
  it.each([
    ['a PDF', { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQK' }],
    ['a plain-text document', { type: 'text', media_type: 'text/plain', data: 'Revenue rose 4%.' }],
  ])('reach the model and the count for %s', async (_kind, source) => {
    const upstream = fakeUpstreams({ [BETA]: (request) => jsonResponse(new URL(request.url).pathname.endsWith('/count_tokens') ? { input_tokens: 321 } : claudeAnswer) })
    const document = { type: 'document', source, title: 'Q3 report', context: 'Internal draft, figures unaudited' }
    const body = { model: 'test/claude', max_tokens: 64, messages: [{ role: 'user', content: [document, { type: 'text', text: 'Summarise.' }] }] }
    expect((await chat(tenant.key, body, '/v1/messages')).status).toBe(200)
    const { max_tokens: _max, ...counted } = body
    expect((await chat(tenant.key, counted, '/v1/messages/count_tokens')).status).toBe(200)
    expect(upstream.calls).toHaveLength(2)
    for (const call of upstream.calls) {
      const sent = JSON.stringify(call.body.messages)
      expect(sent).toContain('Q3 report')
      expect(sent).toContain('Internal draft, figures unaudited')
    }
  })
})

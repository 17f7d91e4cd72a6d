import { describe, expect, it } from 'vitest'
import { ALPHA, BETA } from '../support/catalog'
import { chat, setUpGateway } from '../support/gateway'
import { anthropicText, fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

const tenant = setUpGateway()

/**
 * `array.push(...items)` passes every item as an argument: past about 120,000 of them the
 * runtime's stack overflows (RangeError). A body within MAX_BODY_BYTES (8 MiB) holds 160,000 small
 * items easily; the translations append such arrays one item at a time (src/arrays.ts).
 */
const WIDE = 160_000

describe('a request with a very wide array, within MAX_BODY_BYTES', () => {
  it('POST /v1/responses: a reasoning item with 160,000 summary parts is answered, not a 500', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const summary = Array.from({ length: WIDE }, () => ({ type: 'summary_text', text: 'a' }))
    const response = await chat(tenant.key, { model: 'test/chat', store: false, input: [{ type: 'reasoning', id: 'rs_1', summary }, { role: 'user', content: 'hi' }] }, '/v1/responses')
    expect(response.status, await response.clone().text()).toBe(200)
  })

  it('POST /v1/messages: a user turn of 160,000 tool results is answered, not a 500', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const results = Array.from({ length: WIDE }, () => ({ type: 'tool_result', tool_use_id: 'a' }))
    const response = await chat(tenant.key, { model: 'test/chat', max_tokens: 10, messages: [{ role: 'user', content: results }] }, '/v1/messages')
    expect(response.status, await response.clone().text()).not.toBe(500)
    expect([200, 400, 413]).toContain(response.status)
  })

  it('POST /v1/chat/completions: a system prompt of 160,000 parts is sent to an Anthropic-format provider, not skipped as its failure', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicText('ok')), [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const parts = Array.from({ length: WIDE }, () => ({ type: 'text', text: 'a' }))
    for (let i = 0; i < 3; i++) {
      const response = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'system', content: parts }, { role: 'user', content: 'hi' }], provider: { order: ['beta', 'alpha'] } })
      expect(response.status).toBe(200)
    }
    expect(upstream.calls.map((call) => call.url)).toEqual(Array(3).fill(`${BETA}/messages`))
  })
})

import { describe, expect, it } from 'vitest'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { chat, gatewayFetch, namedEvents, readSse, setUpGateway } from '../support/gateway'
import { fakeUpstreams, type UpstreamHandler } from '../support/upstream'

/** An upstream's thrown error after the first token reaches the client without the secrets the gateway sent, as its error events do. */

const tenant = setUpGateway()

/** A stream that sends one token, then fails with an error quoting the request's authorization header. */
const breaksAfterFirstToken: UpstreamHandler = (call) => {
  const auth = call.headers.get('authorization') ?? ''
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const chunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] }
      controller.enqueue(new TextEncoder().encode(`data: ${JSON.stringify(chunk)}\n\n`))
    },
    pull(controller) {
      controller.error(new Error(`reset while sending ${auth}`))
    },
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
}

describe('a stream whose body throws after the first token', () => {
  it('relays the reason without the provider key (chat)', async () => {
    fakeUpstreams({ [ALPHA]: breaksAfterFirstToken, [BETA]: breaksAfterFirstToken, [GAMMA]: breaksAfterFirstToken })
    const response = await chat(tenant.key, { model: 'test/chat', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    const { raw } = await readSse(response)
    expect(raw).toContain('reset while sending Bearer [redacted]')
    expect(raw).not.toContain('test-upstream-key')
  })

  it('neither relays nor stores the provider key (/v1/responses)', async () => {
    fakeUpstreams({ [ALPHA]: breaksAfterFirstToken, [BETA]: breaksAfterFirstToken, [GAMMA]: breaksAfterFirstToken })
    const response = await gatewayFetch('/v1/responses', {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test/chat', stream: true, input: 'hi' }),
    })
    const text = await response.text()
    const id = (namedEvents(text).at(-1)!.response as { id: string }).id
    const stored = await (await gatewayFetch(`/v1/responses/${id}`, { headers: { authorization: `Bearer ${tenant.key}` } })).text()
    expect({ stream: text.includes('test-upstream-key'), stored: stored.includes('test-upstream-key') }).toEqual({ stream: false, stored: false })
  })
})

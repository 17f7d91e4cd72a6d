import { afterEach, describe, expect, it, vi } from 'vitest'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { chat, forgetServedHealth, generationOf, readSse, setUpGateway } from '../support/gateway'
import { data, fakeUpstreams, jsonResponse, openaiCompletion, openaiStreamEvents, sseResponse } from '../support/upstream'

/**
 * A 200 answer that carries an error beside its choices (OpenRouter's shape for a provider that
 * failed after it took the request: `finish_reason: "error"` with the choice's `error`, or a
 * top-level `error`) is an error body: it fails over, and is neither served nor charged as a success.
 */

const tenant = setUpGateway()
afterEach(() => forgetServedHealth())

const hi = [{ role: 'user', content: 'hi' }]
const failed = { id: 'up', object: 'chat.completion', created: 1, model: 'm', usage: { prompt_tokens: 10, completion_tokens: 0, total_tokens: 10 } }
const empty = { index: 0, message: { role: 'assistant', content: '' } }

describe('a 200 answer that is an error', () => {
  it.each([
    ['an error in its choice', { ...failed, choices: [{ ...empty, finish_reason: 'error', error: { code: 502, message: 'Upstream provider error' } }] }],
    ['an error beside its choices', { ...failed, choices: [{ ...empty, finish_reason: 'stop' }], error: { code: 429, message: 'Rate limit exceeded' } }],
  ])('with %s fails over, and its attempt is not a success', async (_label, body) => {
    fakeUpstreams({
      [ALPHA]: () => jsonResponse(body),
      [BETA]: () => jsonResponse({ error: { message: 'down' } }, 500),
      [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'from gamma' })),
    })
    const response = await chat(tenant.key, { model: 'test/chat', messages: hi, provider: { order: ['alpha', 'gamma'] } })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('gamma')
    const id = response.headers.get('x-generation-id')!
    await vi.waitFor(async () => expect(await generationOf(tenant.key, id)).toBeDefined())
    const record = (await generationOf(tenant.key, id)) as { provider_responses: Array<{ provider: string; outcome: string }> }
    const first = record.provider_responses[0]
    expect(first?.provider).toBe('alpha')
    expect(first?.outcome).not.toBe('success')
  })

  it('in a stream’s first chunk, as its choice’s error, fails over too', async () => {
    const choiceError = data({ id: 'up', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'error', error: { code: 502, message: 'Upstream provider error' } }] })
    fakeUpstreams({
      [ALPHA]: () => sseResponse([choiceError]),
      [GAMMA]: () => sseResponse(openaiStreamEvents(['from ', 'gamma'])),
    })
    const response = await chat(tenant.key, { model: 'test/chat', stream: true, messages: hi, provider: { order: ['alpha', 'gamma'] } })
    expect(response.headers.get('x-meridian-provider')).toBe('gamma')
    const { data: chunks } = await readSse(response)
    expect(chunks.find((chunk) => chunk.error)).toBeUndefined()
  })
})

import { describe, expect, it } from 'vitest'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { chat, type ErrorJson, readSse, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion, openaiStreamEvents, sseResponse } from '../support/upstream'

const tenant = setUpGateway()
const ask = (model: string) => chat(tenant.key, { model, stream: true, messages: [{ role: 'user', content: 'hi' }] })

describe('a streaming request answered 200 with a JSON body', () => {
  it('fails over on an error body, keeping the provider’s reason', async () => {
    fakeUpstreams({
      [ALPHA]: () => jsonResponse({ error: { message: 'Model is overloaded, try later', code: 503 } }),
      [BETA]: () => jsonResponse({ type: 'error', error: { type: 'api_error', message: 'internal' } }, 500),
      [GAMMA]: () => sseResponse(openaiStreamEvents(['from gamma'])),
    })
    const response = await ask('test/chat')
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('gamma')
    const { data: chunks } = await readSse(response)
    expect(chunks.map((c) => (c.choices as { delta?: { content?: string } }[])[0]?.delta?.content).filter(Boolean)).toEqual(['from gamma'])
  })

  it('keeps the provider’s reason when no provider is left', async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse({ error: { message: 'Model is overloaded, try later' } }) })
    const response = await ask('test/other')
    expect(response.status).toBe(502)
    const body = (await response.json()) as ErrorJson
    expect(body.error.metadata).toMatchObject({ provider_name: 'Gamma', message: 'Model is overloaded, try later' })
  })

  it('answers the error body’s own status when it says the request is at fault', async () => {
    fakeUpstreams({
      [GAMMA]: () => jsonResponse({ error: { message: "This model's maximum context length is 8192 tokens", code: 400 } }),
    })
    const response = await ask('test/other')
    expect(response.status).toBe(400)
    const body = (await response.json()) as ErrorJson
    expect(body.error).toMatchObject({ code: 400, metadata: { error_type: 'context_length_exceeded' } })
    expect(body.error.message).toContain('maximum context length is 8192 tokens')
  })

  it('relays a real stream its server labels application/json', async () => {
    fakeUpstreams({ [GAMMA]: () => new Response(['\n', ...openaiStreamEvents(['Hello', ' world'])].join(''), { headers: { 'content-type': 'application/json; charset=utf-8' } }) })
    const response = await ask('test/other')
    expect(response.status).toBe(200)
    const { data: chunks } = await readSse(response)
    expect(chunks.map((c) => (c.choices as { delta?: { content?: string } }[])[0]?.delta?.content).filter(Boolean).join('')).toBe('Hello world')
  })

  it('says so when the body is a completion, not a stream', async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'not streamed' })) })
    const response = await ask('test/other')
    expect(response.status).toBe(502)
    const body = (await response.json()) as ErrorJson
    expect(body.error.metadata).toMatchObject({ provider_name: 'Gamma', message: 'Upstream answered a streaming request with JSON, not a stream' })
  })
})

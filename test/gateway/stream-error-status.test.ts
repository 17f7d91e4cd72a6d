import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { localView } from '../../src/health/local'
import { ALPHA, BETA } from '../support/catalog'
import { chat, type ErrorJson, readSse, setUpGateway } from '../support/gateway'
import { anthropicEvent, data, fakeUpstreams, jsonResponse, sseResponse } from '../support/upstream'

const tenant = setUpGateway()

/** Only Alpha (OpenAI format) serves: no failover muddies which endpoint was observed. */
const ask = { model: 'test/chat', stream: true, messages: [{ role: 'user', content: 'hi' }], provider: { only: ['alpha'] } }

/** An error inside an OpenAI-format stream, its HTTP status in `error.code`, as OpenRouter sends it. */
const errorChunk = (code: number | string, message: string) =>
  data({ id: 'gen-up', object: 'chat.completion.chunk', created: 1, model: 'm', error: { code, message }, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }] })
const textChunk = (content: string) => data({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })

async function askThrice(body: object): Promise<void> {
  for (let i = 0; i < 3; i++) await (await chat(tenant.key, body)).text()
}

describe('an upstream error with a status, inside a stream or a 200 body', () => {
  it('a 400 before the first token is the client’s 400, and leaves the endpoint healthy', async () => {
    fakeUpstreams({ [ALPHA]: () => sseResponse([errorChunk(400, "Invalid 'messages[0].content'")]) })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toContain("Invalid 'messages[0].content'")
    await askThrice(ask)
    expect(localView(env, 'test/chat@alpha', Date.now())).toBeUndefined()
  })

  it('a 429 before the first token (code as a string too) cools the endpoint rather than opening its circuit', async () => {
    fakeUpstreams({ [ALPHA]: () => sseResponse([errorChunk('429', 'Rate limit exceeded')]) })
    await askThrice(ask)
    const view = localView(env, 'test/chat@alpha', Date.now())
    expect(view?.circuit).toBe('closed')
    expect(view?.coolingUntil).not.toBeNull()
  })

  it('an Anthropic rate_limit_error event before the first token cools the endpoint too', async () => {
    fakeUpstreams({ [BETA]: () => sseResponse([anthropicEvent('error', { error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' } })]) })
    await askThrice({ ...ask, provider: { only: ['beta'] } })
    const view = localView(env, 'test/chat@beta', Date.now())
    expect(view?.circuit).toBe('closed')
    expect(view?.coolingUntil).not.toBeNull()
  })

  it('after the first token, an error that says the request was at fault is not held against the endpoint; one without a status is', async () => {
    fakeUpstreams({ [ALPHA]: () => sseResponse([textChunk('Hel'), errorChunk(400, 'Invalid tool output')]) })
    await askThrice(ask)
    expect(localView(env, 'test/chat@alpha', Date.now())).toBeUndefined()
    fakeUpstreams({ [ALPHA]: () => sseResponse([textChunk('Hel'), data({ error: 'overloaded' })]) })
    const response = await chat(tenant.key, ask)
    const { data: chunks } = await readSse(response)
    expect(chunks.find((chunk) => chunk.error)?.error).toMatchObject({ message: 'overloaded' })
    await askThrice(ask)
    expect(localView(env, 'test/chat@alpha', Date.now())?.circuit).toBe('open')
  })

  it('a 200 error body whose code is a word but whose reason is the prompt’s length is a context-length refusal', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse({ error: { code: 'context_length_exceeded', message: "This model's maximum context length is 8192 tokens" } }) })
    const response = await chat(tenant.key, { ...ask, stream: false })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.metadata).toMatchObject({ error_type: 'context_length_exceeded' })
  })

  it('a context-length refusal as a stream’s first error event, its code a word, is the same 400, and leaves the endpoint healthy', async () => {
    const tooLong = { code: 'context_length_exceeded', message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens." }
    fakeUpstreams({ [ALPHA]: () => sseResponse([data({ error: tooLong })]) })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.metadata).toMatchObject({ error_type: 'context_length_exceeded' })
    await askThrice(ask)
    expect(localView(env, 'test/chat@alpha', Date.now())).toBeUndefined()
  })

  it.each([false, true])('an Anthropic error body answered with a 200 is read by its type: invalid_request_error is the client’s 400 (stream: %s)', async (stream) => {
    fakeUpstreams({ [BETA]: () => jsonResponse({ type: 'error', error: { type: 'invalid_request_error', message: 'messages.0.content: text content blocks must be non-empty' } }) })
    const onlyBeta = { ...ask, stream, provider: { only: ['beta'] } }
    const response = await chat(tenant.key, onlyBeta)
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toContain('text content blocks must be non-empty')
    await askThrice(onlyBeta)
    expect(localView(env, 'test/chat@beta', Date.now())).toBeUndefined()
  })

  it('an Anthropic rate_limit_error body answered with a 200 is a 429: it cools the endpoint rather than opening its circuit', async () => {
    fakeUpstreams({ [BETA]: () => jsonResponse({ type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' } }) })
    const onlyBeta = { ...ask, stream: false, provider: { only: ['beta'] } }
    expect((await chat(tenant.key, onlyBeta)).status).toBe(429)
    await askThrice(onlyBeta)
    const view = localView(env, 'test/chat@beta', Date.now())
    expect({ circuit: view?.circuit, cooling: view?.coolingUntil != null }).toEqual({ circuit: 'closed', cooling: true })
  })

  it.each([false, true])('a rate limit in a 200 body keeps the pause its headers ask for, for the client and the cool-down (stream: %s)', async (stream) => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse({ error: { code: 429, message: 'Rate limit exceeded' } }, 200, { 'retry-after': '7' }) })
    const started = Date.now()
    const response = await chat(tenant.key, { ...ask, stream })
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('7')
    const coolingUntil = localView(env, 'test/chat@alpha', Date.now())?.coolingUntil ?? 0
    expect(coolingUntil).toBeGreaterThanOrEqual(started + 6_000)
  })

  it('a JSON answer with 200 and an error body is read by the status in it', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse({ error: { code: 400, message: "Invalid 'temperature'" } }) })
    const response = await chat(tenant.key, { ...ask, stream: false })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toContain("Invalid 'temperature'")
    await askThrice({ ...ask, stream: false })
    expect(localView(env, 'test/chat@alpha', Date.now())).toBeUndefined()
  })
})

import { describe, expect, it } from 'vitest'
import { ALPHA, GAMMA, withTestChat } from '../support/catalog'
import { chat, type ErrorJson, gatewayFetch, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * An endpoint whose provider takes fewer prompt tokens than its window leaves (GPT-5 at OpenAI:
 * 272k of 400k) is not sent a longer prompt: routing counts its prompt limit as it counts windows.
 */
const catalog = withTestChat({
  model: { contextLength: 200_000 },
  endpoint: (endpoint) => ({ ...endpoint, contextLength: 200_000, ...(endpoint.provider === 'alpha' ? { maxPromptTokens: 1_000 } : {}) }),
})
const tenant = setUpGateway(catalog)
/** About 2,000 tokens: within every window, past alpha's prompt limit. */
const long = [{ role: 'user', content: 'word '.repeat(1_600) }]

describe('an endpoint’s prompt limit', () => {
  it('keeps a prompt past it from the endpoint, which another serves', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()), [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: 'test/chat', messages: long, provider: { order: ['alpha', 'gamma'] } })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('gamma')
    expect(upstream.calls.map((call) => new URL(call.url).port)).not.toContain(new URL(ALPHA).port)
    // A short prompt still goes to alpha.
    const short = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], provider: { order: ['alpha', 'gamma'] } })
    expect(short.headers.get('x-meridian-provider')).toBe('alpha')
  })

  it('refused by its provider as too long, still moves on to an endpoint of the same window without that limit', async () => {
    const tooLong = () => jsonResponse({ error: { message: "This model's maximum prompt length is 1000 tokens. Please reduce the length of the messages (context length)" } }, 400)
    const upstream = fakeUpstreams({ [ALPHA]: tooLong, [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'a prompt alpha counts as long' }], provider: { order: ['alpha', 'gamma'] } })
    expect(upstream.calls.map((call) => new URL(call.url).port)).toEqual([new URL(ALPHA).port, new URL(GAMMA).port])
    expect(response.status).toBe(200)
  })

  it('is the window a 400 context_length_exceeded names when only that endpoint is allowed', async () => {
    const response = await chat(tenant.key, { model: 'test/chat', messages: long, max_tokens: 100, provider: { only: ['alpha'] } })
    expect(response.status).toBe(400)
    const body = (await response.json()) as ErrorJson
    expect(body.error.metadata).toMatchObject({ max_context_length: 1_100 })
    expect(body.error.message).toContain('maximum context length is 1100 tokens')
  })

  it('is listed as the endpoint’s max_prompt_tokens', async () => {
    const response = await gatewayFetch('/api/v1/models/test/chat/endpoints')
    const { data } = (await response.json()) as { data: { endpoints: { tag: string; context_length: number; max_prompt_tokens: number }[] } }
    expect(data.endpoints.find((endpoint) => endpoint.tag === 'alpha')).toMatchObject({ context_length: 200_000, max_prompt_tokens: 1_000 })
    expect(data.endpoints.find((endpoint) => endpoint.tag === 'gamma')).toMatchObject({ context_length: 200_000, max_prompt_tokens: 200_000 })
  })
})

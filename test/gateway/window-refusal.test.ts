import { describe, expect, it } from 'vitest'
import { ALPHA, GAMMA, withTestChat } from '../support/catalog'
import { chat, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * A provider's context-length refusal rules out the endpoints that take no more of the prompt and
 * no more in all: alpha has an 8k window and no prompt limit; gamma a 128k window whose provider
 * takes at most 8k of prompt.
 */
const catalog = withTestChat({
  endpoint: (endpoint) => (endpoint.provider === 'alpha' ? { ...endpoint, contextLength: 8_000 } : endpoint.provider === 'gamma' ? { ...endpoint, maxPromptTokens: 8_000 } : endpoint),
})
const tenant = setUpGateway(catalog)

describe('a window refusal (prompt and max_tokens) by a small-window endpoint', () => {
  it('still moves on to a larger window whose prompt limit takes the prompt', async () => {
    // alpha's provider counts 4,200 prompt tokens: with max_tokens 4,000 its 8k window is past. gamma takes 4,200 of prompt and 8,200 in all.
    const tooLong = () =>
      jsonResponse({ error: { message: "This model's maximum context length is 8000 tokens. However, you requested 8200 tokens (4200 in the messages, 4000 in the completion).", type: 'invalid_request_error', code: 'context_length_exceeded' } }, 400)
    const upstream = fakeUpstreams({ [ALPHA]: tooLong, [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4_000, provider: { order: ['alpha', 'gamma'], ignore: ['beta'] } })
    expect(upstream.calls.map((call) => new URL(call.url).port)).toEqual([new URL(ALPHA).port, new URL(GAMMA).port])
    expect(response.status).toBe(200)
  })
})

import { describe, expect, it } from 'vitest'
import { BETA, GAMMA, withTestChat } from '../support/catalog'
import { chat, type ErrorJson, setUpGateway } from '../support/gateway'
import { anthropicText, fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * Anthropic requires max_tokens. For a client that gave none, Meridian sends what the window leaves
 * beside the prompt, within the endpoint's cap: Claude models before Sonnet 4.5 refuse a prompt
 * and max_tokens past the window. test/chat here: beta (Anthropic format) with a 128k window and a
 * 64k cap; gamma (OpenAI format) with a 200k window.
 */
const catalog = withTestChat({
  endpoint: (endpoint) =>
    endpoint.provider === 'beta' ? { ...endpoint, maxCompletionTokens: 64_000 } : endpoint.provider === 'gamma' ? { ...endpoint, contextLength: 200_000 } : endpoint,
})
const tenant = setUpGateway(catalog)
const onlyBeta = { model: 'test/chat', provider: { only: ['beta'] } }

/** The characters of text in an Anthropic request's messages. */
const sentCharacters = (body: Record<string, unknown>) =>
  (body.messages as { content: { text?: string }[] }[]).reduce((sum, message) => sum + message.content.reduce((n, block) => n + (block.text?.length ?? 0), 0), 0)

describe('max_tokens sent to an Anthropic-format endpoint when the client gave none', () => {
  it('is the endpoint cap for a short prompt', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicText('ok')) })
    await chat(tenant.key, { ...onlyBeta, messages: [{ role: 'user', content: 'Hi' }] })
    expect(upstream.calls[0]!.body.max_tokens).toBe(64_000)
  })

  it('is what the window leaves beside a long prompt, and a thinking budget is fitted under it', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicText('ok')) })
    // About 100k tokens at four characters a token: 64k more would pass the 128k window.
    const long = 'x'.repeat(400_000)
    await chat(tenant.key, { ...onlyBeta, messages: [{ role: 'user', content: long }] })
    const sent = upstream.calls[0]!.body.max_tokens as number
    expect(sent).toBeGreaterThan(27_000)
    expect(sent + sentCharacters(upstream.calls[0]!.body) / 4).toBeLessThanOrEqual(128_000)

    await chat(tenant.key, { ...onlyBeta, messages: [{ role: 'user', content: long }], reasoning: { effort: 'high' } })
    const withThinking = upstream.calls[1]!.body as { max_tokens: number; thinking: { budget_tokens: number } }
    expect(withThinking.max_tokens).toBe(sent)
    expect(withThinking.thinking.budget_tokens).toBe(Math.floor(sent * 0.8))
  })

  it("is the client's own when it gave one", async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicText('ok')) })
    await chat(tenant.key, { ...onlyBeta, messages: [{ role: 'user', content: 'x'.repeat(400_000) }], max_tokens: 20_000 })
    expect(upstream.calls[0]!.body.max_tokens).toBe(20_000)
  })

  it('leaves room beside a prompt that context compression shortened to the window', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicText('ok')) })
    // About 150k tokens in 30 turns, past the 128k window: compression drops turns from the middle.
    const messages = Array.from({ length: 30 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `m${i} `.padEnd(20_000, 'x') }))
    const response = await chat(tenant.key, { ...onlyBeta, messages, plugins: [{ id: 'context-compression' }] })
    expect(response.status).toBe(200)
    const body = upstream.calls[0]!.body
    expect((body.messages as unknown[]).length).toBeLessThan(30)
    expect((body.max_tokens as number) + sentCharacters(body) / 4).toBeLessThanOrEqual(128_000)
  })
})

describe("Anthropic's refusal of a prompt and max_tokens past the window", () => {
  const pastWindow = () =>
    jsonResponse(
      {
        type: 'error',
        error: { type: 'invalid_request_error', message: 'input length and `max_tokens` exceed context limit: 125000 + 64000 > 128000, decrease input length or `max_tokens` and try again' },
      },
      400,
    )

  it('is a context-length refusal: the request moves on to a larger window', async () => {
    const upstream = fakeUpstreams({ [BETA]: pastWindow, [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'Hi' }], provider: { order: ['beta', 'gamma'], ignore: ['alpha'] } })
    expect(response.status).toBe(200)
    expect(upstream.calls.map((call) => new URL(call.url).port)).toEqual([new URL(BETA).port, new URL(GAMMA).port])
  })

  it('is answered as context_length_exceeded when no larger window is left', async () => {
    fakeUpstreams({ [BETA]: pastWindow })
    const response = await chat(tenant.key, { ...onlyBeta, messages: [{ role: 'user', content: 'Hi' }] })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.metadata).toMatchObject({ error_type: 'context_length_exceeded', provider_name: 'Beta' })
  })
})

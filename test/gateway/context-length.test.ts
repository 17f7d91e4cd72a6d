import { describe, expect, it } from 'vitest'
import { ALPHA, BETA, GAMMA, withTestChat } from '../support/catalog'
import { chat, createKey, type ErrorJson, gatewayFetch, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/** test/chat with its three endpoints at 8k, 8k and 200k tokens of context. */
const catalog = withTestChat({ model: { contextLength: 200_000 }, endpoint: (endpoint, i) => ({ ...endpoint, contextLength: [8_000, 8_000, 200_000][i] }) })

const tenant = setUpGateway(catalog)

const tooLong = () => jsonResponse({ error: { message: "This model's maximum context length is 8192 tokens" } }, 400)

describe('a context-length refusal', () => {
  it('moves on only to an endpoint with a larger context window', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: tooLong, [BETA]: tooLong, [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'a long prompt' }] })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('gamma')
    // beta has the same 8k window as alpha, so it is skipped rather than tried
    expect(upstream.calls.map((call) => new URL(call.url).port)).toEqual(['9101', '9103'])
  })

  it('still moves on to the next model of `models`, whose window is its own, counted by its own tokenizer', async () => {
    const upstream = fakeUpstreams({
      [ALPHA]: tooLong,
      [BETA]: tooLong,
      // test/chat's 200k endpoint refuses too; test/other (128k) there is another model.
      [GAMMA]: (call) => ((call.body as { model: string }).model === 'gamma-chat' ? tooLong() : jsonResponse(openaiCompletion())),
    })
    const response = await chat(tenant.key, { model: 'test/chat', models: ['test/other'], messages: [{ role: 'user', content: 'a long prompt' }] })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { model: string }).model).toBe('test/other')
    expect(upstream.calls.map((call) => (call.body as { model: string }).model)).toEqual(['alpha-chat', 'gamma-chat', 'gamma-other'])
  })

  it('is recognised from the start of a long error body that echoes the prompt', async () => {
    const echoing = () => new Response(`The prompt is too long for this model. Prompt: ${'x'.repeat(200_000)}`, { status: 400 })
    fakeUpstreams({ [ALPHA]: echoing, [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'a long prompt' }] })
    expect(response.headers.get('x-meridian-provider')).toBe('gamma')
  })

  it('is returned as a 400 context_length_exceeded when no larger window exists', async () => {
    fakeUpstreams({ [GAMMA]: tooLong })
    const response = await chat(tenant.key, { model: 'test/other', messages: [{ role: 'user', content: 'a long prompt' }] })
    expect(response.status).toBe(400)
    const body = (await response.json()) as ErrorJson
    expect(body.error.metadata).toMatchObject({ error_type: 'context_length_exceeded', provider_name: 'Gamma' })
  })
})

describe('context compression (OpenRouter middle-out, Responses truncation "auto")', () => {
  /** 20 messages of about 500 tokens: about 10k tokens, past alpha's 8k window. */
  const long = Array.from({ length: 20 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `m${i} `.padEnd(2_000, 'x') }))
  const onlyAlpha = { model: 'test/chat', provider: { only: ['alpha'] } }

  it('shortens a prompt too long for every endpoint left, by default for a window of 8k or less, and traces it', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const response = await gatewayFetch('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json', 'x-meridian-debug': 'route' },
      body: JSON.stringify({ ...onlyAlpha, messages: long }),
    })
    expect(response.status).toBe(200)
    const sent = (upstream.calls[0]!.body as { messages: { content: string }[] }).messages
    expect(sent.length).toBeLessThan(long.length)
    expect(sent[0]!.content).toBe(long[0]!.content)
    expect(sent.at(-1)!.content).toBe(long.at(-1)!.content)
    const trace = ((await response.json()) as { meridian_route: { compressed: Record<string, unknown> } }).meridian_route
    expect(trace.compressed).toMatchObject({ window: 8_000, messages_removed: long.length - sent.length, characters_cut: 0 })
  })

  it('serves a key allowed only a smaller window: planned again among its providers, the prompt shortened to fit', async () => {
    const { key } = await createKey({ name: 'alpha only', allowed_providers: ['alpha'] })
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()), [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(key, { model: 'test/chat', messages: long })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('alpha')
    expect(upstream.calls.map((call) => new URL(call.url).port)).toEqual(['9101'])
    expect((upstream.calls[0]!.body as { messages: unknown[] }).messages.length).toBeLessThan(long.length)
    // A key allowed no provider that serves the model keeps its 403.
    const { key: none } = await createKey({ name: 'nobody', allowed_providers: ['dark'] })
    const refused = await chat(none, { model: 'test/chat', messages: long })
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as ErrorJson).error.metadata).toMatchObject({ error_type: 'permission_denied', allowed_providers: ['dark'] })
  })

  it('is refused with transforms: [] or the plugin disabled: the 400 stands', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    for (const refusal of [{ transforms: [] }, { plugins: [{ id: 'context-compression', enabled: false }] }]) {
      const response = await chat(tenant.key, { ...onlyAlpha, messages: long, ...refusal })
      expect(response.status).toBe(400)
      expect(((await response.json()) as ErrorJson).error.metadata).toMatchObject({ error_type: 'context_length_exceeded' })
    }
    expect(upstream.calls).toHaveLength(0)
  })

  it('is asked for past 8k with the plugin, and refused on /v1/responses by truncation "disabled"', async () => {
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion()), [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const huge = [{ role: 'user', content: 'y'.repeat(900_000) }]
    expect((await chat(tenant.key, { model: 'test/chat', messages: huge })).status).toBe(400)
    const compressed = await chat(tenant.key, { model: 'test/chat', messages: huge, plugins: [{ id: 'context-compression' }] })
    expect(compressed.status).toBe(200)
    expect(compressed.headers.get('x-meridian-provider')).toBe('gamma')
    expect((upstream.calls[0]!.body as { messages: { content: string }[] }).messages[0]!.content.length).toBe(0.75 * 200_000 * 4)

    const input = long.map(({ role, content }) => ({ role, content }))
    const disabled = await chat(tenant.key, { ...onlyAlpha, input, truncation: 'disabled' }, '/v1/responses')
    expect(disabled.status).toBe(400)
    expect(((await disabled.json()) as { error: { code: string } }).error.code).toBe('context_length_exceeded')
    // Another plugin says nothing of compression: truncation's default still refuses.
    const otherPlugin = await chat(tenant.key, { ...onlyAlpha, input, plugins: [{ id: 'response-healing' }] }, '/v1/responses')
    expect(otherPlugin.status).toBe(400)
    const auto = await chat(tenant.key, { ...onlyAlpha, input, truncation: 'auto' }, '/v1/responses')
    expect(auto.status).toBe(200)
    expect(await auto.json()).toMatchObject({ truncation: 'auto', status: 'completed' })
    expect((upstream.calls.at(-1)!.body as { messages: unknown[] }).messages.length).toBeLessThan(long.length)
  })
})

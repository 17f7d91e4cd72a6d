import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { ALPHA, BETA, GAMMA, testCatalog } from '../support/catalog'
import { adminFetch, BASE, createKey, gatewayFetch, installCatalog, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse } from '../support/upstream'

const tenant = setUpGateway()

const count = { model: 'test/claude', messages: [{ role: 'user', content: 'How long is this?' }] }

function countTokens(body: object, key = tenant.key): Promise<Response> {
  return gatewayFetch('/v1/messages/count_tokens', {
    method: 'POST',
    headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

async function anthropicError(response: Response): Promise<{ type: string; message: string }> {
  const json = (await response.json()) as { type: string; error: { type: string; message: string } }
  expect(json.type).toBe('error')
  return json.error
}

/** A second Anthropic-format provider of test/claude, for the duration of `run`. */
const SECOND = 'http://127.0.0.1:9105/v1'
async function withSecondCounter(run: () => Promise<void>): Promise<void> {
  await installCatalog({
    ...testCatalog,
    providers: [...testCatalog.providers, { ...testCatalog.providers[1]!, id: 'beta2', name: 'Beta 2', baseUrl: SECOND }],
    models: [{ ...testCatalog.models[1]!, endpoints: [...testCatalog.models[1]!.endpoints, { ...testCatalog.models[1]!.endpoints[0]!, provider: 'beta2' }] }],
  })
  try {
    await run()
  } finally {
    await installCatalog()
  }
}

const usage = async (key: string) =>
  ((await (await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })).json()) as { data: { usage: number; reserved: number } }).data

describe('POST /v1/messages/count_tokens', () => {
  it("asks the model's Anthropic-format provider, sending only what its count takes, and charges nothing", async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse({ input_tokens: 42 }) })
    const tools = [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]
    const response = await countTokens({
      ...count,
      system: 'Be terse.',
      tools,
      tool_choice: { type: 'auto' },
      thinking: { type: 'enabled', budget_tokens: 1024 },
      temperature: 0.5,
      metadata: { user_id: 'u-1' },
      max_tokens: 99,
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ input_tokens: 42 })
    expect(response.headers.get('x-meridian-provider')).toBe('beta')
    expect(response.headers.get('x-meridian-attempts')).toBe('1')
    expect(response.headers.get('x-generation-id')).toBeNull()
    expect(upstream.calls).toHaveLength(1)
    const sent = upstream.calls[0]!
    expect(sent.url).toBe(`${BETA}/messages/count_tokens`)
    expect(sent.headers.get('x-api-key')).toBe('test-upstream-key')
    expect(sent.headers.get('anthropic-version')).toBe('2023-06-01')
    expect(sent.body).toEqual({
      model: 'claude-test',
      system: [{ type: 'text', text: 'Be terse.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'How long is this?' }] }],
      tools,
      tool_choice: { type: 'auto' },
      thinking: { type: 'enabled', budget_tokens: 1024 },
    })
    expect(await usage(tenant.key)).toMatchObject({ usage: 0, reserved: 0 })
  })

  it('skips providers of the model that speak another format', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse({}), [BETA]: () => jsonResponse({ input_tokens: 7 }), [GAMMA]: () => jsonResponse({}) })
    const response = await countTokens({ ...count, model: 'test/chat' })
    expect(await response.json()).toEqual({ input_tokens: 7 })
    expect(upstream.calls.map((call) => call.url)).toEqual([`${BETA}/messages/count_tokens`])
  })

  it('fails over to the next Anthropic-format provider, and gives the last failure when all fail', async () => {
    await withSecondCounter(() => failsOver(SECOND))
  })

  async function failsOver(second: string): Promise<void> {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse({ error: { message: 'overloaded' } }, 529), [second]: () => jsonResponse({ input_tokens: 9 }) })
    const served = await countTokens(count)
    expect(await served.json()).toEqual({ input_tokens: 9 })
    expect(served.headers.get('x-meridian-attempts')).toBe('2')
    expect(upstream.calls).toHaveLength(2)

    fakeUpstreams({ [BETA]: () => jsonResponse({ error: { message: 'overloaded' } }, 529), [second]: () => jsonResponse({ unexpected: true }) })
    const failed = await countTokens(count)
    expect(failed.status).toBe(502)
    const error = (await failed.json()) as { error: { type: string; metadata: { message: string; attempts: { outcome: string }[] } } }
    expect(error.error.type).toBe('api_error')
    expect(error.error.metadata.message).toBe('Upstream answered with an unexpected body')
    expect(error.error.metadata.attempts.map((attempt) => attempt.outcome)).toEqual(['upstream_error', 'bad_response'])
  }

  it('passes over a provider that holds a count past TIMEOUT_COUNT_TOKENS_MS', async () => {
    await withSecondCounter(async () => {
      fakeUpstreams({ [BETA]: () => new Promise<Response>(() => {}), [SECOND]: () => jsonResponse({ input_tokens: 5 }) })
      const request = new Request(`${BASE}/v1/messages/count_tokens`, { method: 'POST', headers: { 'x-api-key': tenant.key }, body: JSON.stringify(count) })
      const response = await worker.fetch(request, { ...env, TIMEOUT_COUNT_TOKENS_MS: '200' }, createExecutionContext())
      expect(await response.json()).toEqual({ input_tokens: 5 })
      expect(response.headers.get('x-meridian-attempts')).toBe('2')
    })
  })

  it("passes on the provider's refusal of the request, with its reason", async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse({ type: 'error', error: { type: 'invalid_request_error', message: 'messages: roles must alternate' } }, 400) })
    const response = await countTokens(count)
    expect(response.status).toBe(400)
    expect(await anthropicError(response)).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/roles must alternate/) })
    expect(upstream.calls).toHaveLength(1)
  })

  it('answers 404 in Anthropic\'s shape when no provider of the model can count, asking nobody', async () => {
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse({ input_tokens: 1 }) })
    const response = await countTokens({ ...count, model: 'test/other' })
    expect(response.status).toBe(404)
    expect(await anthropicError(response)).toMatchObject({ type: 'not_found_error', message: expect.stringMatching(/none serves test\/other/) })
    expect(upstream.calls).toHaveLength(0)
  })

  it('counts a prompt longer than the window, and answers 404 when the providers lack the route, as neither a failure of theirs', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse({ input_tokens: 200_000 }) })
    const long = { ...count, max_tokens: 4096, messages: [{ role: 'user', content: 'word '.repeat(130_000) }] }
    const counted = await countTokens(long)
    expect(await counted.json()).toEqual({ input_tokens: 200_000 })
    expect(upstream.calls[0]!.body).not.toHaveProperty('max_tokens')

    fakeUpstreams({ [BETA]: () => jsonResponse({ type: 'error', error: { type: 'not_found_error', message: 'Not Found' } }, 404) })
    const lacking = await countTokens(count)
    expect(lacking.status).toBe(404)
    expect(await anthropicError(lacking)).toMatchObject({ type: 'not_found_error', message: expect.stringMatching(/count locally/) })
    // Counting failures are not health observations: the trace of the next answer shows none.
    fakeUpstreams({ [BETA]: () => jsonResponse({ error: { message: 'down' } }, 503) })
    for (let i = 0; i < 5; i++) expect((await countTokens(count)).status).toBe(502)
    const answer = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [{ type: 'text', text: 'Hi' }], stop_reason: 'end_turn', usage: { input_tokens: 3, output_tokens: 1 } }
    fakeUpstreams({ [BETA]: () => jsonResponse(answer) })
    const served = await gatewayFetch('/v1/messages', {
      method: 'POST',
      headers: { 'x-api-key': tenant.key, 'content-type': 'application/json', 'x-meridian-debug': 'route' },
      body: JSON.stringify({ ...count, max_tokens: 16 }),
    })
    const trace = ((await served.json()) as { meridian_route: { candidates: { provider: string; error_rate: number; circuit: string }[] } }).meridian_route
    expect(trace.candidates).toEqual([expect.objectContaining({ provider: 'beta', error_rate: 0, circuit: 'closed' })])
  })

  it("keeps to the key's allow-lists", async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse({ input_tokens: 3 }) })
    const { key: alphaOnly } = await createKey({ name: 'alpha only', allowed_providers: ['alpha'] })
    const viaAlpha = await countTokens({ ...count, model: 'test/chat' }, alphaOnly)
    expect(viaAlpha.status).toBe(404)
    const { key: otherOnly } = await createKey({ name: 'other only', allowed_models: ['test/other'] })
    const refused = await countTokens(count, otherOnly)
    expect(refused.status).toBe(403)
    expect(await anthropicError(refused)).toMatchObject({ type: 'permission_error', message: 'This key may not use test/claude through beta' })
    expect(upstream.calls).toHaveLength(0)
  })

  it("keeps to the key's requests_per_minute, in a bucket apart from its requests", async () => {
    const answer = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [{ type: 'text', text: 'Hi' }], stop_reason: 'end_turn', usage: { input_tokens: 3, output_tokens: 1 } }
    const upstream = fakeUpstreams({ [BETA]: (call) => jsonResponse(call.url.endsWith('/count_tokens') ? { input_tokens: 3 } : answer) })
    const { key } = await createKey({ name: 'two a minute', rate_limit: { requests_per_minute: 2 } })
    const message = () =>
      gatewayFetch('/v1/messages', { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ ...count, max_tokens: 16 }) })
    expect((await countTokens(count, key)).status).toBe(200)
    expect((await countTokens(count, key)).status).toBe(200)
    const refused = await countTokens(count, key)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(refused.headers.get('x-ratelimit-limit')).toBe('2')
    expect(await anthropicError(refused)).toMatchObject({ type: 'rate_limit_error', message: expect.stringMatching(/^Rate limit exceeded: token counts \(2 per minute/) })
    expect(upstream.calls).toHaveLength(2)
    // The key's requests have their own two.
    expect((await message()).status).toBe(200)
    expect((await message()).status).toBe(200)
    expect((await message()).status).toBe(429)
    expect(upstream.calls).toHaveLength(4)
    // And a key whose requests are spent still counts.
    const { key: spent } = await createKey({ name: 'spent', rate_limit: { requests_per_minute: 1 } })
    const spentMessage = () =>
      gatewayFetch('/v1/messages', { method: 'POST', headers: { 'x-api-key': spent, 'content-type': 'application/json' }, body: JSON.stringify({ ...count, max_tokens: 16 }) })
    expect((await spentMessage()).status).toBe(200)
    expect((await spentMessage()).status).toBe(429)
    expect((await countTokens(count, spent)).status).toBe(200)
  })

  it('refuses a missing, unknown or revoked key before anything else, and a malformed body', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse({ input_tokens: 3 }) })
    const missing = await gatewayFetch('/v1/messages/count_tokens', { method: 'POST', body: JSON.stringify(count) })
    expect(missing.status).toBe(401)
    const unknown = await countTokens({ ...count, model: 'nobody/nothing' }, 'sk-mer-not-a-key')
    expect(unknown.status).toBe(401)
    expect(await anthropicError(unknown)).toMatchObject({ type: 'authentication_error', message: 'Invalid API key' })
    const { key: disabled, hash: disabledHash } = await createKey({ name: 'disabled' })
    await adminFetch(`/v1/keys/${disabledHash}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) })
    const refusedKey = await countTokens(count, disabled)
    expect(refusedKey.status).toBe(401)
    const malformed = await countTokens({ model: 'test/claude' })
    expect(malformed.status).toBe(400)
    expect((await anthropicError(malformed)).message).toMatch(/messages/)
    const unknownModel = await countTokens({ ...count, model: 'nobody/nothing' })
    expect(unknownModel.status).toBe(404)
    expect(upstream.calls).toHaveLength(0)
  })
})

import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { BASE, chat, createKey, type ErrorJson, gatewayFetch, setUpGateway } from '../support/gateway'
import { data, fakeUpstreams, jsonResponse, never, openaiCompletion, sseResponse, stalledBody, type UpstreamHandler } from '../support/upstream'

const tenant = setUpGateway()
const within20Ms = { TIMEOUT_NON_STREAMING_MS: '20' }

const ask = { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] }
const served: UpstreamHandler = () => jsonResponse(openaiCompletion({ content: 'from gamma' }))

/** A chat request under other settings, answered once its background work is done. */
async function chatWith(settings: Record<string, string>, body: unknown): Promise<Response> {
  const ctx = createExecutionContext()
  const request = new Request(`${BASE}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.key}` },
    body: JSON.stringify(body),
  })
  const response = await worker.fetch(request, { ...env, ...settings }, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

describe('fallback before the first byte', () => {
  const failures: [string, UpstreamHandler | undefined][] = [
    ['a refused connection', undefined],
    ['a 500', () => jsonResponse({ error: { message: 'boom' } }, 500)],
    ['a 503', () => new Response('Service Unavailable', { status: 503 })],
    ['a 429', () => jsonResponse({ error: { message: 'slow down' } }, 429, { 'retry-after': '7' })],
    ['a 401 for our provider key', () => jsonResponse({ error: { message: 'bad key' } }, 401)],
    ['a 402 for our provider account', () => jsonResponse({ error: { message: 'insufficient credits' } }, 402)],
    ['a 200 with invalid JSON', () => new Response('<html>oops</html>', { status: 200 })],
    ['a 200 with an unexpected body', () => jsonResponse({ hello: 'world' })],
    ['a 200 with JSON nested 50,000 deep', () => new Response(deeplyNested(50_000))],
    ['a 200 completion with an annotation nested 20,000 deep', () => new Response(completionWithDeepAnnotation(20_000))],
  ]
  it.each(failures)('moves on to the next endpoint after %s', async (_label, failing) => {
    const upstream = fakeUpstreams({ ...(failing ? { [ALPHA]: failing, [BETA]: failing } : {}), [GAMMA]: served })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(200)
    const body = (await response.json()) as { provider: string; choices: { message: { content: string } }[] }
    expect(body.provider).toBe('Gamma')
    expect(body.choices[0]!.message.content).toBe('from gamma')
    expect(response.headers.get('x-meridian-attempts')).toBe('3')
    expect(upstream.calls.map((call) => new URL(call.url).port)).toEqual(['9101', '9102', '9103'])
  })

  it('moves on from an answer larger than MAX_UPSTREAM_BODY_BYTES, without reading all of it', async () => {
    const pulled = { chunks: 0 }
    // 100 chunks of 512 spaces: 51,200 bytes, which are not JSON either.
    const large: UpstreamHandler = () => {
      let sent = 0
      return new Response(
        new ReadableStream({
          pull: (controller) => {
            if (sent++ === 100) return controller.close()
            pulled.chunks++
            controller.enqueue(new Uint8Array(512).fill(32))
          },
        }),
      )
    }
    fakeUpstreams({ [ALPHA]: large, [BETA]: large, [GAMMA]: served })
    const response = await chatWith({ MAX_UPSTREAM_BODY_BYTES: '4096' }, ask)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('gamma')
    expect(response.headers.get('x-meridian-attempts')).toBe('3')
    // 4,096 bytes are 8 chunks of 512; the ninth passes the limit and reading stops, for each of two upstreams.
    expect(pulled.chunks).toBeLessThanOrEqual(2 * 10)
  })

  it('moves on after a timeout', async () => {
    fakeUpstreams({ [ALPHA]: never, [BETA]: never, [GAMMA]: served })
    const response = await chatWith(within20Ms, ask)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('gamma')
  })

  it('does not retry a request the upstream rejects as invalid, and says why', async () => {
    const upstream = fakeUpstreams({
      [ALPHA]: () => jsonResponse({ error: { message: "Invalid value for 'temperature'" } }, 400),
      [GAMMA]: served,
    })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(400)
    const body = (await response.json()) as ErrorJson
    expect(body.error.message).toBe("Alpha: Invalid value for 'temperature'")
    expect(body.error.metadata).toMatchObject({ provider_name: 'Alpha', raw: { error: { message: "Invalid value for 'temperature'" } } })
    expect(upstream.calls).toHaveLength(1)
  })

  it('fails with 502, the last provider and its raw reason when every endpoint fails', async () => {
    fakeUpstreams({
      [ALPHA]: () => jsonResponse({ error: { message: 'alpha down' } }, 500),
      [BETA]: () => jsonResponse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 529),
      [GAMMA]: () => jsonResponse({ error: { message: 'gamma down' } }, 502),
    })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(502)
    // No provider served it, but it has a generation (its record holds the attempts) and a count of them.
    expect(response.headers.get('x-generation-id')).toMatch(/^gen-/)
    expect(response.headers.get('x-meridian-attempts')).toBe('3')
    expect(response.headers.get('x-meridian-provider')).toBeNull()
    const body = (await response.json()) as ErrorJson
    expect(body.error.message).toBe('Provider returned error')
    expect(body.error.metadata).toMatchObject({ provider_name: 'Gamma', raw: { error: { message: 'gamma down' } } })
    expect((body.error.metadata.attempts as { provider: string; outcome: string; status: number }[]).map((a) => [a.provider, a.outcome, a.status])).toEqual([
      ['alpha', 'upstream_error', 500],
      ['beta', 'upstream_error', 529],
      ['gamma', 'upstream_error', 502],
    ])
  })

  it('fails with 502 and only the start of each bad body when every endpoint answers JSON too deep to render', async () => {
    fakeUpstreams({
      // An error body is read up to 4 KiB: 2,000 levels, kept as text.
      [ALPHA]: () => new Response(deeplyNested(2_000), { status: 500 }),
      [BETA]: () => new Response(deeplyNested(50_000)),
      [GAMMA]: () => new Response(completionWithDeepAnnotation(20_000)),
    })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(502)
    const body = (await response.json()) as ErrorJson
    expect(body.error.metadata).toMatchObject({ provider_name: 'Gamma', raw: completionWithDeepAnnotation(20_000).slice(0, 1024) })
    expect((body.error.metadata.attempts as { outcome: string }[]).map((a) => a.outcome)).toEqual(['upstream_error', 'bad_response', 'bad_response'])
  })

  it("never relays the gateway's provider key when an upstream echoes it in an error", async () => {
    // An error quoting the request's own authorization header, as a misconfigured proxy might.
    const echo: UpstreamHandler = (call) => {
      const received = call.headers.get('authorization') ?? ''
      return jsonResponse({ error: { message: `bad request, auth=${received}`, detail: [{ header: received }] } }, 400)
    }
    fakeUpstreams({ [ALPHA]: echo })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(400)
    const text = await response.text()
    expect(text).not.toContain('test-upstream-key')
    expect(JSON.parse(text)).toMatchObject({
      error: { message: 'Alpha: bad request, auth=Bearer [redacted]', metadata: { raw: { error: { detail: [{ header: 'Bearer [redacted]' }] } } } },
    })
  })

  it("never relays the gateway's provider key from a stream's error event, before the first byte", async () => {
    const echo: UpstreamHandler = (call) => sseResponse([data({ error: { message: `denied for ${call.headers.get('authorization')}` } })])
    fakeUpstreams({ [ALPHA]: echo, [BETA]: echo, [GAMMA]: echo })
    const response = await chat(tenant.key, { ...ask, stream: true })
    const text = await response.text()
    expect(text).toContain('denied for Bearer [redacted]')
    expect(text).not.toContain('test-upstream-key')
  })

  it('fails with 429 and the upstream Retry-After when every endpoint is rate limited', async () => {
    const limited = () => jsonResponse({ error: { message: 'rate limited' } }, 429, { 'retry-after': '12' })
    fakeUpstreams({ [ALPHA]: limited, [BETA]: limited, [GAMMA]: limited })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('12')
  })

  it.each([
    ['an HTTP date, rewritten', 'Wed, 21 Oct 2026 07:28:00 GMT', 'Wed, 21 Oct 2026 07:28:00 GMT'],
    ['what it received (not a Retry-After value), left out', 'key=test-upstream-key', null],
    ['a number with text after it, left out', '12; key=abc', null],
    ['fractional seconds, rounded up to whole ones', '2.5', '3'],
  ])("passes on an upstream's Retry-After only as seconds or a date: %s", async (_label, sent, passed) => {
    const limited = () => jsonResponse({ error: { message: 'rate limited' } }, 429, { 'retry-after': sent })
    fakeUpstreams({ [ALPHA]: limited, [BETA]: limited, [GAMMA]: limited })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe(passed)
  })

  it.each([
    ['the tokens limit, spent', { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '6m0s', 'x-ratelimit-remaining-requests': '99', 'x-ratelimit-reset-requests': '20ms' }, '360'],
    ['both limits, spent: the later', { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1.5s', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '2m59.56s' }, '180'],
    ['no limit said to be spent', { 'x-ratelimit-remaining-tokens': '10', 'x-ratelimit-reset-tokens': '6m0s' }, null],
  ])("reads OpenAI's and Groq's x-ratelimit-reset-* as the pause of a 429 without Retry-After: %s", async (_label, headers, passed) => {
    const limited = () => jsonResponse({ error: { message: 'rate limited' } }, 429, headers)
    fakeUpstreams({ [ALPHA]: limited, [BETA]: limited, [GAMMA]: limited })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe(passed)
  })

  it("passes on OpenAI's retry-after-ms as whole seconds when that is all the upstream sent", async () => {
    const limited = () => jsonResponse({ error: { message: 'rate limited' } }, 429, { 'retry-after-ms': '2500' })
    fakeUpstreams({ [ALPHA]: limited, [BETA]: limited, [GAMMA]: limited })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('3')
  })

  it.each([
    ['a 200', 200],
    // Its status alone would stop failover (the request's fault); cut short, it is a timeout.
    ['a 400', 400],
  ])('moves on when %s body stalls past the deadline', async (_label, status) => {
    fakeUpstreams({ [ALPHA]: stalledBody(status), [BETA]: stalledBody(status), [GAMMA]: served })
    const response = await chatWith(within20Ms, ask)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('gamma')
    expect(response.headers.get('x-meridian-attempts')).toBe('3')
  })

  it('fails with 408 when the last endpoint timed out', async () => {
    fakeUpstreams({ [GAMMA]: never })
    const response = await chatWith(within20Ms, { ...ask, model: 'test/other' })
    expect(response.status).toBe(408)
  })

  it('falls back across the models list and reports the model that served', async () => {
    const upstream = fakeUpstreams({ [GAMMA]: served })
    const response = await chat(tenant.key, { model: 'test/claude', models: ['test/other'], messages: ask.messages })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { model: string }).model).toBe('test/other')
    expect(upstream.calls.map((call) => call.body.model)).toEqual(['claude-test', 'gamma-other'])
  })

  it('moves on to the next model of the models list after a model refuses the request as invalid, and returns the last error if none serves', async () => {
    const refusal = () => jsonResponse({ type: 'error', error: { type: 'invalid_request_error', message: 'Output blocked by content filtering policy' } }, 400)
    const upstream = fakeUpstreams({ [BETA]: refusal, [GAMMA]: served })
    const response = await chat(tenant.key, { model: 'test/claude', models: ['test/other'], messages: ask.messages })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { model: string; provider: string })).toMatchObject({ model: 'test/other', provider: 'Gamma' })
    expect(upstream.calls.map((call) => call.body.model)).toEqual(['claude-test', 'gamma-other'])

    const refusedByAll = fakeUpstreams({ [BETA]: refusal, [GAMMA]: () => jsonResponse({ error: { message: "Invalid value for 'temperature'" } }, 400) })
    const last = await chat(tenant.key, { model: 'test/claude', models: ['test/other'], messages: ask.messages })
    expect(last.status).toBe(400)
    expect(((await last.json()) as ErrorJson).error.message).toBe("Gamma: Invalid value for 'temperature'")
    expect(refusedByAll.calls).toHaveLength(2)
  })

  it('keeps an attempt for the next model of models when the first has more providers than attempts', async () => {
    const down = () => jsonResponse({ error: { message: 'down' } }, 500)
    const upstream = fakeUpstreams({ [ALPHA]: down, [BETA]: down, [GAMMA]: (request) => (request.body.model === 'gamma-other' ? served(request) : down()) })
    const response = await chatWith({ MAX_ATTEMPTS: '2' }, { ...ask, models: ['test/other'] })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { model: string }).model).toBe('test/other')
    expect(upstream.calls.map((call) => call.body.model)).toEqual([expect.any(String), 'gamma-other'])
  })

  it('tries only the first-ranked provider of each model with allow_fallbacks: false and no order, and returns its error', async () => {
    const upstream = fakeUpstreams({
      [ALPHA]: () => jsonResponse({ error: { message: 'alpha is down' } }, 500),
      [BETA]: served,
      [GAMMA]: served,
    })
    const response = await chat(tenant.key, { ...ask, provider: { allow_fallbacks: false } })
    expect(response.status).toBe(502)
    expect(((await response.json()) as ErrorJson).error.metadata).toMatchObject({ provider_name: 'Alpha', raw: { error: { message: 'alpha is down' } } })
    expect(upstream.calls.map((call) => new URL(call.url).origin)).toEqual([new URL(ALPHA).origin])
    // The next model of `models` is still tried: the setting is about providers.
    const withModels = fakeUpstreams({ [ALPHA]: () => jsonResponse({ error: { message: 'alpha is down' } }, 500), [GAMMA]: served })
    const fellBack = await chat(tenant.key, { ...ask, models: ['test/other'], provider: { allow_fallbacks: false } })
    expect(fellBack.status).toBe(200)
    expect(withModels.calls.map((call) => call.body.model)).toEqual([expect.any(String), 'gamma-other'])
  })

  it('with allow_fallbacks: false keeps to the first provider the key may use, and still counts tokens through the model’s Anthropic-format one', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: served, [BETA]: () => jsonResponse({ input_tokens: 7 }), [GAMMA]: served })
    const { key } = await createKey({ name: 'gamma only', allowed_providers: ['gamma'] })
    const primary = await chat(key, { ...ask, provider: { allow_fallbacks: false } })
    expect(primary.status).toBe(200)
    expect(primary.headers.get('x-meridian-provider')).toBe('gamma')
    const counted = await gatewayFetch('/v1/messages/count_tokens', {
      method: 'POST',
      headers: { 'x-api-key': tenant.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test/chat', messages: [{ role: 'user', content: 'How long is this?' }], provider: { allow_fallbacks: false } }),
    })
    expect(counted.status).toBe(200)
    expect(await counted.json()).toEqual({ input_tokens: 7 })
    expect(upstream.calls.map((call) => new URL(call.url).origin)).toEqual([new URL(GAMMA).origin, new URL(BETA).origin])
  })

  it('reads models: [] as no fallback list on every route: /v1/messages takes its fallbacks beside it', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse({ error: { message: 'down' } }, 500), [GAMMA]: served })
    const response = await gatewayFetch('/v1/messages', {
      method: 'POST',
      headers: { 'x-api-key': tenant.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test/claude', models: [], fallbacks: [{ model: 'test/other' }], max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { model: string }).model).toBe('test/other')
    expect(upstream.calls.map((call) => call.body.model)).toEqual(['claude-test', 'gamma-other'])
  })
})

function deeplyNested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`
}

/** A well-formed completion whose message carries an annotation nested `depth` deep. */
function completionWithDeepAnnotation(depth: number): string {
  const completion = openaiCompletion({ content: 'deep' }) as { choices: { message: Record<string, unknown> }[] }
  completion.choices[0]!.message.annotations = ['DEEP']
  return JSON.stringify(completion).replace('"DEEP"', deeplyNested(depth))
}

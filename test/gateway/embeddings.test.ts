import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import type { CatalogInput } from '../../src/catalog/schema'
import { base64ToFloats } from '../../src/formats/openai/embeddings'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { BASE, chat, createKey, type ErrorJson, gatewayFetch, generationOf, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, latch, type UpstreamHandler } from '../support/upstream'

const provider = (id: string, format: 'openai' | 'anthropic', baseUrl: string) => ({
  id,
  name: id[0]!.toUpperCase() + id.slice(1),
  format,
  baseUrl,
  apiKeyEnv: 'TEST_PROVIDER_KEY',
  region: { name: id, lat: 0, lon: 0 },
  dataCollection: 'deny' as const,
})
const endpoint = (providerId: string, upstreamModel: string, prompt = '0.0000001', supportedParameters: string[] = []) => ({
  provider: providerId,
  upstreamModel,
  pricing: { prompt, completion: '0' },
  maxCompletionTokens: 1,
  supportedParameters,
})
const model = (id: string, output: 'text' | 'embeddings', endpoints: ReturnType<typeof endpoint>[]) => ({
  id,
  name: id,
  contextLength: 8192,
  modalities: { input: ['text' as const], output: [output] },
  endpoints,
})

// Beta speaks Anthropic's format, which has no embeddings API: routing must skip it.
const catalog: CatalogInput = {
  version: 'embeddings-test',
  providers: [provider('alpha', 'openai', ALPHA), provider('beta', 'anthropic', BETA), provider('gamma', 'openai', GAMMA), { ...provider('openai', 'openai', GAMMA), preset: 'openai' as const }],
  models: [
    // Only gamma's endpoint says it takes `dimensions`.
    model('test/embed', 'embeddings', [endpoint('alpha', 'alpha-embed'), endpoint('beta', 'beta-embed'), endpoint('gamma', 'gamma-embed', undefined, ['dimensions'])]),
    model('test/embed-b', 'embeddings', [endpoint('gamma', 'gamma-embed-b', '0.00000002')]),
    // OpenAI's own, at the strict openai preset, as the bundled catalog has it.
    model('test/embed-strict', 'embeddings', [endpoint('openai', 'text-embedding-3-small', undefined, ['dimensions'])]),
    // Served by no provider whose embeddings are built: never listed.
    model('test/embed-beta', 'embeddings', [endpoint('beta', 'beta-embed')]),
    model('test/chat', 'text', [{ ...endpoint('alpha', 'alpha-chat'), pricing: { prompt: '0.000001', completion: '0.000002' }, maxCompletionTokens: 1000 }]),
  ],
}

const tenant = setUpGateway(catalog)

function embeddings(body: object, key = tenant.key, path = '/v1/embeddings'): Promise<Response> {
  return gatewayFetch(path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

interface EmbeddingsJson {
  id: string
  object: string
  model: string
  provider: string
  data: { object: string; index: number; embedding: number[] | string }[]
  usage: { prompt_tokens: number; total_tokens: number; cost: number }
}

const upstreamList = (vectors: number[][], promptTokens: number | null = 12) => ({
  object: 'list',
  model: 'upstream-embed',
  data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
  ...(promptTokens === null ? {} : { usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } }),
})
/** One vector [i, 0.5] per input. */
const served: UpstreamHandler = ({ body }) => {
  const inputs = Array.isArray(body.input) && typeof body.input[0] !== 'number' ? body.input.length : 1
  return jsonResponse(upstreamList(Array.from({ length: inputs }, (_, i) => [i, 0.5])))
}

describe('POST /v1/embeddings', () => {
  it('sends an OpenAI embeddings request upstream and answers in the OpenRouter shape with exact cost', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: served })
    const response = await embeddings({ model: 'test/embed', input: ['first', 'second'], dimensions: 256, user: 'u-1', provider: { sort: 'latency' } })
    expect(response.status).toBe(200)
    const sent = upstream.calls[0]!
    expect(sent.url).toBe(`${ALPHA}/embeddings`)
    expect(sent.headers.get('authorization')).toBe('Bearer test-upstream-key')
    expect(sent.body).toEqual({ model: 'alpha-embed', input: ['first', 'second'], dimensions: 256, user: 'u-1' })
    const body = (await response.json()) as EmbeddingsJson
    expect(body).toEqual({
      id: response.headers.get('x-generation-id'),
      object: 'list',
      model: 'test/embed',
      provider: 'Alpha',
      data: [
        { object: 'embedding', index: 0, embedding: [0, 0.5] },
        { object: 'embedding', index: 1, embedding: [1, 0.5] },
      ],
      // 12 tokens at $0.10 per million (within the inputs' bound: 5 + 6 bytes, 2 tokens each around them)
      usage: { prompt_tokens: 12, total_tokens: 12, cost: 0.0000012 },
    })
    expect(body.id).toMatch(/^gen-/)
    expect(response.headers.get('x-meridian-provider')).toBe('alpha')
    expect(response.headers.get('x-meridian-attempts')).toBe('1')
  })

  it('answers base64 (little-endian float32) when asked, and serves /api/v1 too', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(upstreamList([[0.5, -1.25]])) })
    const response = await embeddings({ model: 'test/embed', input: 'hello', encoding_format: 'base64' }, tenant.key, '/api/v1/embeddings')
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.body).toEqual({ model: 'alpha-embed', input: 'hello' })
    const { data } = (await response.json()) as EmbeddingsJson
    expect(base64ToFloats(data[0]!.embedding as string)).toEqual([0.5, -1.25])
  })

  it.each<[string, UpstreamHandler | undefined]>([
    ['a 500', () => jsonResponse({ error: { message: 'boom' } }, 500)],
    ['a refused connection', undefined],
    ['too few vectors', () => jsonResponse(upstreamList([[1]]))],
  ])('fails over after %s to the next OpenAI-format endpoint, skipping the Anthropic one', async (_label, failing) => {
    const upstream = fakeUpstreams({ ...(failing ? { [ALPHA]: failing } : {}), [GAMMA]: served })
    const response = await embeddings({ model: 'test/embed', input: ['a', 'b'] })
    expect(response.status).toBe(200)
    expect(((await response.json()) as EmbeddingsJson).provider).toBe('Gamma')
    expect(response.headers.get('x-meridian-attempts')).toBe('2')
    expect(upstream.calls.map((call) => call.url)).toEqual([`${ALPHA}/embeddings`, `${GAMMA}/embeddings`])
  })

  it('fails with 502 and the provider reason when every endpoint fails', async () => {
    const failing = () => jsonResponse({ error: { message: 'overloaded' } }, 503)
    fakeUpstreams({ [ALPHA]: failing, [GAMMA]: failing })
    const response = await embeddings({ model: 'test/embed', input: 'a' })
    expect(response.status).toBe(502)
    expect(((await response.json()) as ErrorJson).error).toMatchObject({ message: 'Provider returned error', metadata: { provider_name: 'Gamma' } })
  })

  it('tries only each model’s first provider with provider.allow_fallbacks: false, as chat does', async () => {
    const failing = () => jsonResponse({ error: { message: 'overloaded' } }, 503)
    const upstream = fakeUpstreams({ [ALPHA]: failing, [GAMMA]: failing })
    const response = await embeddings({ model: 'test/embed', input: 'a', provider: { allow_fallbacks: false } })
    expect(response.status).toBe(502)
    expect(upstream.calls).toHaveLength(1)
    expect(response.headers.get('x-meridian-attempts')).toBe('1')
  })

  it('falls back to the next of `models`', async () => {
    fakeUpstreams({ [GAMMA]: served })
    const response = await embeddings({ model: 'test/chat', models: ['test/embed-b'], input: 'a' })
    expect(response.status).toBe(200)
    expect(((await response.json()) as EmbeddingsJson).model).toBe('test/embed-b')
  })

  it('answers 404 for a chat-only model, and chat answers 404 for an embedding model', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: served })
    const response = await embeddings({ model: 'test/chat', input: 'a' })
    expect(response.status).toBe(404)
    expect(((await response.json()) as ErrorJson).error.message).toBe('No endpoints found that support embeddings for "test/chat"')
    const chatting = await chat(tenant.key, { model: 'test/embed', messages: [{ role: 'user', content: 'hi' }] })
    expect(chatting.status).toBe(404)
    expect(((await chatting.json()) as ErrorJson).error.message).toBe('No endpoints found that support chat completions for "test/embed"')
    expect(upstream.calls).toHaveLength(0)
  })

  it('answers 400 naming the field for invalid input', async () => {
    const response = await embeddings({ model: 'test/embed', input: [] })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toMatch(/input/)
  })

  it("refuses with 402 what the key's limit cannot cover, before any upstream call", async () => {
    const upstream = fakeUpstreams({ [ALPHA]: served })
    const { key } = await createKey({ name: 'tiny', limit: 0.000001 })
    // Bound: 20,002 tokens at $0.10 per million = $0.0020002 > $0.000001.
    const response = await embeddings({ model: 'test/embed', input: 'x'.repeat(20_000) }, key)
    expect(response.status).toBe(402)
    expect(((await response.json()) as ErrorJson).error.metadata).toMatchObject({ error_type: 'payment_required', required: 0.0020002 })
    expect(upstream.calls).toHaveLength(0)
  })

  it('settles a generation record with the real cost', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(upstreamList([[1]], 5000)) })
    const response = await embeddings({ model: 'test/embed', input: 'a'.repeat(5000) })
    const id = response.headers.get('x-generation-id')!
    await vi.waitFor(async () =>
      expect(await generationOf(tenant.key, id)).toMatchObject({ id, model: 'test/embed', api_type: 'embeddings', streamed: false, total_cost: 0.0005, tokens_prompt: 5000, tokens_completion: 0 }),
    )
  })

  it('settles with the real cost a request whose client hung up while the provider worked', async () => {
    let release = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    const upstream = fakeUpstreams({
      [ALPHA]: async () => {
        await gate
        return jsonResponse(upstreamList([[1]], 5000))
      },
    })
    const { key } = await createKey({ name: 'embeddings-hang-up' })
    const client = new AbortController()
    const pending = gatewayFetch('/v1/embeddings', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test/embed', input: 'a'.repeat(5000) }),
      signal: client.signal,
    })
    await vi.waitFor(() => expect(upstream.calls).toHaveLength(1))
    client.abort()
    await expect(pending).rejects.toThrow()
    release()
    const view = async () => ((await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })).json()) as Promise<{ data: object }>
    // Not left reserved for the alarm to charge in full: settled with what the provider reported.
    await vi.waitFor(async () => expect((await view()).data).toMatchObject({ usage: 0.0005, reserved: 0 }), { timeout: 5_000 })
  })

  it('answers 413 without trying another provider or model when the vectors would pass MAX_UPSTREAM_BODY_BYTES', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: served, [GAMMA]: served })
    const { key } = await createKey({ name: 'many-vectors' })
    const ctx = createExecutionContext()
    const request = new Request(`${BASE}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      // Another model would compute (and bill) the same oversized answer.
      body: JSON.stringify({ model: 'test/embed', models: ['test/embed-b'], input: Array.from({ length: 50 }, (_, i) => `text ${i}`) }),
    })
    const response = await worker.fetch(request, { ...env, MAX_UPSTREAM_BODY_BYTES: '1000' }, ctx)
    await waitOnExecutionContext(ctx)
    expect(response.status).toBe(413)
    expect(((await response.json()) as ErrorJson).error.message).toMatch(/larger than the gateway reads \(1000 bytes\): send fewer inputs/)
    expect(upstream.calls).toHaveLength(1)
    // The provider computed (and billed) the vectors: the key is charged the estimate, 50 inputs of 6-7 characters.
    const usage = async () => ((await (await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })).json()) as { data: { usage: number } }).data.usage
    await vi.waitFor(async () => expect(await usage()).toBe(0.00001))
  })

  it('charges an estimate when the upstream reports no usage', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(upstreamList([[1]], null)) })
    const response = await embeddings({ model: 'test/embed', input: 'x'.repeat(400) })
    expect(((await response.json()) as EmbeddingsJson).usage).toEqual({ prompt_tokens: 100, total_tokens: 100, cost: 0.00001 })
  })
})

describe('POST /v1/embeddings with provider.require_parameters', () => {
  it('sends dimensions only to an endpoint that lists it among its supported parameters', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: served, [GAMMA]: served })
    const response = await embeddings({ model: 'test/embed', input: 'hello', dimensions: 2, provider: { require_parameters: true } })
    expect(response.status).toBe(200)
    expect(upstream.calls.map((call) => call.url)).toEqual([`${GAMMA}/embeddings`])
    // Without it, catalog order, as before.
    await embeddings({ model: 'test/embed', input: 'hello', dimensions: 2 })
    expect(upstream.calls.at(-1)!.url).toBe(`${ALPHA}/embeddings`)
  })

  it('keeps an endpoint at a strict preset that lists dimensions: embeddings always send it, whatever the chat preset accepts', async () => {
    const upstream = fakeUpstreams({ [GAMMA]: served })
    const response = await embeddings({ model: 'test/embed-strict', input: 'hello', dimensions: 2, provider: { require_parameters: true } })
    expect(response.status).toBe(200)
    expect(upstream.calls.map((call) => (call.body as { dimensions?: number }).dimensions)).toEqual([2])
  })
})

describe('GET /v1/models and output_modalities', () => {
  const ids = async (query: string) => ((await (await gatewayFetch(`/v1/models${query}`)).json()) as { data: { id: string }[] }).data.map((m) => m.id).sort()

  it('lists text models by default, embedding models on request, both with all', async () => {
    expect(await ids('')).toEqual(['test/chat'])
    expect(await ids('?output_modalities=embeddings')).toEqual(['test/embed', 'test/embed-b', 'test/embed-strict'])
    expect(await ids('?output_modalities=all')).toEqual(['test/chat', 'test/embed', 'test/embed-b', 'test/embed-strict'])
    expect(await ids('?output_modalities=text,embeddings')).toEqual(['test/chat', 'test/embed', 'test/embed-b', 'test/embed-strict'])
  })

  it('lists the embedding models at GET /embeddings/models too, in the same shape, without auth', async () => {
    for (const base of ['/v1', '/api/v1']) {
      const response = await gatewayFetch(`${base}/embeddings/models`)
      expect(response.status).toBe(200)
      const listed = (await response.json()) as { data: { id: string }[]; total_count: number }
      expect(listed.data.map((m) => m.id).sort()).toEqual(['test/embed', 'test/embed-b', 'test/embed-strict'])
      expect(listed.total_count).toBe(3)
      const viaQuery = (await (await gatewayFetch(`${base}/models?output_modalities=embeddings`)).json()) as typeof listed
      expect(listed).toEqual(viaQuery)
    }
  })

  it('leaves out a model only providers without an embeddings API serve, which POST /v1/embeddings would refuse', async () => {
    expect((await embeddings({ model: 'test/embed-beta', input: 'hello' })).status).toBe(404)
    expect(await ids('?output_modalities=all')).not.toContain('test/embed-beta')
    expect((await gatewayFetch('/v1/models/test/embed-beta')).status).toBe(404)
    // Its endpoints page shows the endpoint as not serving (status -5), as one without its key.
    const endpoints = (await (await gatewayFetch('/v1/models/test/embed-beta/endpoints')).json()) as { data: { endpoints: { status: number }[] } }
    expect(endpoints.data.endpoints.map((endpoint) => endpoint.status)).toEqual([-5])
  })
})

describe('a long embeddings request', () => {
  it('renews its reservation when its timeouts could outlast RESERVATION_TTL_MS, as a chat request does', async () => {
    const gate = latch()
    fakeUpstreams({
      [ALPHA]: async (call) => {
        await gate.promise
        return served(call)
      },
    })
    const { key, hash } = await createKey({ name: 'long-embeddings' })
    const expiry = () =>
      runInDurableObject(env.KEYS.get(env.KEYS.idFromName(hash)), (_instance, state) => state.storage.sql.exec<{ at: number }>('SELECT expires_at AS at FROM reservations').toArray()[0]?.at)
    const ctx = createExecutionContext()
    const request = new Request(`${BASE}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test/embed', input: 'hello' }),
    })
    // Renewed every 30 ms here; the key's object keeps its own 15 minutes.
    const answer = Promise.resolve(worker.fetch(request, { ...env, RESERVATION_TTL_MS: '90' }, ctx))
    await vi.waitFor(async () => expect(await expiry()).toBeDefined())
    const admitted = await expiry()
    await vi.waitFor(async () => expect(await expiry()).toBeGreaterThan(admitted!), { timeout: 5_000 })
    gate.release()
    expect((await answer).status).toBe(200)
    await waitOnExecutionContext(ctx)
  })
})

describe('an embeddings upstream that answers a 200 with an endless junk body', () => {
  /** No content-length, never ends: a broken upstream or proxy. */
  const endlessJunk: UpstreamHandler = () => {
    const chunk = new TextEncoder().encode('x'.repeat(65_536))
    return new Response(new ReadableStream<Uint8Array>({ pull: (controller) => controller.enqueue(chunk) }), { headers: { 'content-type': 'application/json' } })
  }
  const keyUsage = async (key: string) =>
    ((await (await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })).json()) as { data: { usage: number; reserved: number } }).data

  it('is the provider’s failure: the next endpoint serves, and the key is not charged for the junk', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: endlessJunk, [GAMMA]: served })
    const { key } = await createKey({ name: 'junk-body' })
    // One input of five bytes: its vector is kilobytes at most, so a body past MAX_UPSTREAM_BODY_BYTES
    // (32 MiB by default) cannot be the vectors this request asked for.
    const response = await embeddings({ model: 'test/embed', input: 'hello', provider: { order: ['alpha', 'gamma'] } }, key)
    expect(response.status, await response.clone().text()).toBe(200)
    expect(upstream.calls.map((call) => call.url)).toEqual([`${ALPHA}/embeddings`, `${GAMMA}/embeddings`])
    // The key pays what the answer says it cost (gamma's vectors), nothing for alpha's junk.
    const { usage } = (await response.json()) as EmbeddingsJson
    await vi.waitFor(async () => expect(await keyUsage(key)).toMatchObject({ usage: usage.cost, reserved: 0 }))
  })

  it('counts against the provider’s health, so its circuit opens after three in a row', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: endlessJunk, [GAMMA]: served })
    for (let i = 0; i < 4; i++) await (await embeddings({ model: 'test/embed', input: 'hello', provider: { order: ['alpha', 'gamma'] } })).text()
    expect(upstream.calls.filter((call) => call.url.startsWith(ALPHA))).toHaveLength(3)
  })
})

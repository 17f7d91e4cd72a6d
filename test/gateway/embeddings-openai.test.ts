import { createOpenAI } from '@ai-sdk/openai'
import { embedMany } from 'ai'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import type { CatalogInput } from '../../src/catalog/schema'
import { floatsToBase64 } from '../../src/formats/openai/embeddings'
import { chat, gatewayFetch, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion, type UpstreamHandler } from '../support/upstream'

/**
 * Embeddings at OpenAI as its clients use them: a full batch (2,048 inputs, as the AI SDK's
 * embedMany and the openai SDK send), which as JSON floats would pass the gateway's read of an
 * upstream answer, so it is asked for in base64; and the end user's id, shortened as on chat.
 */

const OPENAI = 'http://127.0.0.1:9201/v1'
const catalog: CatalogInput = {
  version: 'embeddings-openai',
  providers: [{ id: 'openai', name: 'OpenAI', format: 'openai', preset: 'openai', baseUrl: OPENAI, apiKeyEnv: 'TEST_PROVIDER_KEY', region: { name: 'us', lat: 0, lon: 0 }, dataCollection: 'deny' }],
  models: [
    {
      id: 'openai/text-embedding-3-small',
      name: 'text-embedding-3-small',
      contextLength: 8192,
      modalities: { input: ['text'], output: ['embeddings'] },
      endpoints: [{ provider: 'openai', upstreamModel: 'text-embedding-3-small', pricing: { prompt: '0.00000002', completion: '0' }, maxCompletionTokens: 1, supportedParameters: ['dimensions'] }],
    },
    {
      id: 'openai/gpt-4o-mini',
      name: 'gpt-4o-mini',
      contextLength: 128000,
      modalities: { input: ['text'], output: ['text'] },
      endpoints: [{ provider: 'openai', upstreamModel: 'gpt-4o-mini', pricing: { prompt: '0.00000015', completion: '0.0000006' }, maxCompletionTokens: 16384, supportedParameters: [] }],
    },
  ],
}
const tenant = setUpGateway(catalog)
const viaGateway = ((url: RequestInfo | URL, init?: RequestInit) => gatewayFetch(new URL(String(url)).pathname, init)) as typeof fetch

const DIMENSIONS = 1536
/** As OpenAI answers: the encoding asked for (floats by default), values with about 8 significant digits. */
const openaiEmbeddings: UpstreamHandler = ({ body }) => {
  const inputs = (body.input as string[]).length
  const base64 = body.encoding_format === 'base64'
  const parts: string[] = []
  for (let i = 0; i < inputs; i++) {
    const vector = Array.from({ length: DIMENSIONS }, (_, d) => Number((Math.sin(i * 31 + d) * 0.05).toPrecision(8)))
    parts.push(JSON.stringify({ object: 'embedding', index: i, embedding: base64 ? floatsToBase64(vector) : vector }))
  }
  const text = `{"object":"list","data":[${parts.join(',')}],"model":"text-embedding-3-small","usage":{"prompt_tokens":${inputs * 4},"total_tokens":${inputs * 4}}}`
  return new Response(text, { headers: { 'content-type': 'application/json' } })
}
const input = Array.from({ length: 2048 }, (_, i) => `sentence number ${i}`)

describe('a full batch of embeddings at OpenAI (2,048 inputs of text-embedding-3-small, within its own limits)', () => {
  it('is served to the openai SDK (base64 by default)', async () => {
    const upstream = fakeUpstreams({ [OPENAI]: openaiEmbeddings })
    const client = new OpenAI({ baseURL: 'https://gateway.test/v1', apiKey: tenant.key, maxRetries: 0, fetch: viaGateway })
    const result = await client.embeddings.create({ model: 'openai/text-embedding-3-small', input })
    expect(upstream.calls).toHaveLength(1)
    expect(upstream.calls[0]!.body.encoding_format).toBe('base64')
    expect(result.data).toHaveLength(2048)
    expect(result.data[7]!.embedding).toHaveLength(DIMENSIONS)
    expect(result.data[7]!.embedding[3]).toBeCloseTo(Math.sin(7 * 31 + 3) * 0.05, 6)
  }, 120_000)

  it('is served to the AI SDK, which asks for floats', async () => {
    fakeUpstreams({ [OPENAI]: openaiEmbeddings })
    const provider = createOpenAI({ baseURL: 'https://gateway.test/v1', apiKey: tenant.key, fetch: viaGateway })
    const result = await embedMany({ model: provider.embedding('openai/text-embedding-3-small'), values: input, maxRetries: 0 })
    expect(result.embeddings).toHaveLength(2048)
    expect(result.embeddings[2047]![0]).toBeCloseTo(Math.sin(2047 * 31) * 0.05, 6)
  }, 120_000)
})

describe('`user` on POST /v1/embeddings to OpenAI', () => {
  it('is sent within OpenAI’s 64 characters, as on chat, and as the same id', async () => {
    const USER = `tenant-42/session-${'a'.repeat(82)}`
    const upstream = fakeUpstreams({
      [OPENAI]: ({ url }) =>
        url.endsWith('/embeddings')
          ? jsonResponse({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], usage: { prompt_tokens: 1, total_tokens: 1 } })
          : jsonResponse(openaiCompletion()),
    })
    expect((await chat(tenant.key, { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], user: USER })).status).toBe(200)
    const embedded = await gatewayFetch('/v1/embeddings', {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/text-embedding-3-small', input: 'hello', user: USER }),
    })
    expect(embedded.status).toBe(200)
    const [chatCall, embeddingsCall] = upstream.calls
    expect((chatCall!.body.user as string).length).toBeLessThanOrEqual(64)
    expect(embeddingsCall!.body.user).toBe(chatCall!.body.user)
  })
})

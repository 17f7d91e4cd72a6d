import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { CatalogInput } from '../../src/catalog/schema'
import worker from '../../src/index'
import { ALPHA, BETA, GAMMA, testCatalog } from '../support/catalog'
import { BASE, readSse, setUpGateway } from '../support/gateway'
import { anthropicTextEvents, data, fakeUpstreams, openaiStreamEvents, sseResponse } from '../support/upstream'

/**
 * OpenAI's reasoning models send nothing until they have thought. An endpoint that reasons gets
 * TIMEOUT_FIRST_BYTE_REASONING_MS for its first event, not TIMEOUT_FIRST_BYTE_MS: cut at the
 * shorter, its thinking would be paid for and lost, and done again elsewhere.
 */

const GEMINI = 'http://127.0.0.1:9105/v1beta'
const [chatModel, ...others] = testCatalog.models
const flash = (provider: string, upstreamModel: string) => ({ provider, upstreamModel, pricing: { prompt: '0.000001', completion: '0.000004' }, maxCompletionTokens: 65536, supportedParameters: ['max_tokens', 'reasoning'] })
const reasoning: CatalogInput = {
  ...testCatalog,
  providers: [...testCatalog.providers, { id: 'gemini', name: 'Gemini', format: 'gemini', baseUrl: GEMINI, apiKeyEnv: 'TEST_PROVIDER_KEY', region: { name: 'gemini', lat: 0, lon: 0 }, dataCollection: 'deny' }],
  models: [
    { id: 'test/flash', name: 'test/flash', contextLength: 1_000_000, modalities: { input: ['text'], output: ['text'] }, endpoints: [flash('gemini', 'gemini-2.5-flash'), flash('alpha', 'alpha-flash')] },
    {
      ...chatModel!,
      endpoints: chatModel!.endpoints.map((endpoint) =>
        endpoint.provider === 'gamma' ? endpoint : { ...endpoint, supportedParameters: [...(endpoint.supportedParameters ?? []), 'reasoning'] },
      ),
    },
    ...others,
  ],
}
const tenant = setUpGateway(reasoning)

async function streamed(settings: Record<string, string>, extra: object = {}) {
  const ctx = createExecutionContext()
  const request = new Request(`${BASE}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'test/chat', stream: true, messages: [{ role: 'user', content: 'think' }], ...extra }),
  })
  const response = await worker.fetch(request, { ...env, ...settings }, ctx)
  const { data } = await readSse(response)
  await waitOnExecutionContext(ctx)
  return { response, content: data.map((chunk) => (chunk.choices as { delta?: { content?: string } }[])[0]?.delta?.content).filter(Boolean) }
}

/** An upstream whose first event comes 60 ms after the call: past a 20 ms first-byte timeout. */
const thinksFirst = () => new Promise<Response>((resolve) => setTimeout(() => resolve(sseResponse(openaiStreamEvents(['thought through']))), 60))

describe('the first event of a stream from an endpoint that reasons', () => {
  it('is waited for TIMEOUT_FIRST_BYTE_REASONING_MS', async () => {
    fakeUpstreams({ [ALPHA]: thinksFirst, [GAMMA]: () => sseResponse(openaiStreamEvents(['from gamma'])) })
    const { response, content } = await streamed({ TIMEOUT_FIRST_BYTE_MS: '20', TIMEOUT_FIRST_BYTE_REASONING_MS: '5000', STREAM_KEEPALIVE_MS: '5000' })
    expect(response.headers.get('x-meridian-provider')).toBe('alpha')
    expect(content).toEqual(['thought through'])
  })

  it('is waited for no less than TIMEOUT_FIRST_BYTE_MS, when that is the longer', async () => {
    fakeUpstreams({ [ALPHA]: thinksFirst, [GAMMA]: () => sseResponse(openaiStreamEvents(['from gamma'])) })
    const { content } = await streamed({ TIMEOUT_FIRST_BYTE_MS: '5000', TIMEOUT_FIRST_BYTE_REASONING_MS: '20', STREAM_KEEPALIVE_MS: '5000' })
    expect(content).toEqual(['thought through'])
  })

  it('is waited for TIMEOUT_FIRST_BYTE_REASONING_MS also when the request turns reasoning off: o-series models think all the same', async () => {
    fakeUpstreams({ [ALPHA]: thinksFirst, [GAMMA]: () => sseResponse(openaiStreamEvents(['from gamma'])) })
    const settings = { TIMEOUT_FIRST_BYTE_MS: '20', TIMEOUT_FIRST_BYTE_REASONING_MS: '5000', STREAM_KEEPALIVE_MS: '5000' }
    const { response, content } = await streamed(settings, { reasoning: { enabled: false }, provider: { order: ['alpha', 'gamma'] } })
    expect(response.headers.get('x-meridian-provider')).toBe('alpha')
    expect(content).toEqual(['thought through'])
  })

  it('of a request whose effort "none" reaches the upstream (GPT-5.1 and later stop thinking), is cut at TIMEOUT_FIRST_BYTE_MS', async () => {
    fakeUpstreams({ [ALPHA]: thinksFirst, [GAMMA]: () => sseResponse(openaiStreamEvents(['from gamma'])) })
    const settings = { TIMEOUT_FIRST_BYTE_MS: '20', TIMEOUT_FIRST_BYTE_REASONING_MS: '5000', STREAM_KEEPALIVE_MS: '5000' }
    const { response } = await streamed(settings, { reasoning_effort: 'none', provider: { order: ['alpha', 'gamma'] } })
    expect(response.headers.get('x-meridian-provider')).toBe('gamma')
  })

  it.each([
    ['a thinking budget of 0', { reasoning: { max_tokens: 0 } }, { thinkingBudget: 0, includeThoughts: false }],
    ['effort none, as a budget of 0', { reasoning_effort: 'none' }, { thinkingBudget: 0 }],
  ])('at a Gemini endpoint sent %s (Flash does not think), is cut at TIMEOUT_FIRST_BYTE_MS', async (_, asked, thinkingConfig) => {
    const chunk = data({ candidates: [{ content: { role: 'model', parts: [{ text: 'late' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1 } })
    const upstream = fakeUpstreams({
      [GEMINI]: () => new Promise<Response>((resolve) => setTimeout(() => resolve(sseResponse([chunk])), 60)),
      [ALPHA]: () => sseResponse(openaiStreamEvents(['from alpha'])),
    })
    const settings = { TIMEOUT_FIRST_BYTE_MS: '20', TIMEOUT_FIRST_BYTE_REASONING_MS: '5000', STREAM_KEEPALIVE_MS: '5000' }
    const { response } = await streamed(settings, { model: 'test/flash', ...asked, provider: { order: ['gemini', 'alpha'] } })
    expect((upstream.calls[0]!.body.generationConfig as { thinkingConfig?: unknown }).thinkingConfig).toEqual(thinkingConfig)
    expect(response.headers.get('x-meridian-provider')).toBe('alpha')
  })

  it('at an Anthropic-format endpoint, whose stream opens before any thinking, is cut at TIMEOUT_FIRST_BYTE_MS', async () => {
    const late = () => new Promise<Response>((resolve) => setTimeout(() => resolve(sseResponse(anthropicTextEvents('late'))), 60))
    fakeUpstreams({ [BETA]: late, [ALPHA]: () => sseResponse(openaiStreamEvents(['from alpha'])) })
    const settings = { TIMEOUT_FIRST_BYTE_MS: '20', TIMEOUT_FIRST_BYTE_REASONING_MS: '5000', STREAM_KEEPALIVE_MS: '5000' }
    const { response, content } = await streamed(settings, { provider: { order: ['beta', 'alpha'] } })
    expect(response.headers.get('x-meridian-provider')).toBe('alpha')
    expect(content).toEqual(['from alpha'])
  })

  it('at an endpoint that does not reason, is cut at TIMEOUT_FIRST_BYTE_MS, and the next provider serves', async () => {
    fakeUpstreams({ [GAMMA]: thinksFirst, [ALPHA]: () => sseResponse(openaiStreamEvents(['from alpha'])) })
    const { response, content } = await streamed({ TIMEOUT_FIRST_BYTE_MS: '20', TIMEOUT_FIRST_BYTE_REASONING_MS: '5000', STREAM_KEEPALIVE_MS: '5000' }, { provider: { order: ['gamma', 'alpha'] } })
    expect(response.headers.get('x-meridian-provider')).toBe('alpha')
    expect(content).toEqual(['from alpha'])
  })
})

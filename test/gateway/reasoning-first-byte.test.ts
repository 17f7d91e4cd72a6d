import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { CatalogInput } from '../../src/catalog/schema'
import worker from '../../src/index'
import { ALPHA, BETA, GAMMA, testCatalog } from '../support/catalog'
import { BASE, readSse, setUpGateway } from '../support/gateway'
import { anthropicTextEvents, fakeUpstreams, openaiStreamEvents, sseResponse } from '../support/upstream'

/**
 * OpenAI's reasoning models send nothing until they have thought. An endpoint that reasons gets
 * TIMEOUT_FIRST_BYTE_REASONING_MS for its first event, not TIMEOUT_FIRST_BYTE_MS: cut at the
 * shorter, its thinking would be paid for and lost, and done again elsewhere.
 */

const [chatModel, ...others] = testCatalog.models
const reasoning: CatalogInput = {
  ...testCatalog,
  models: [
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

import { describe, expect, it } from 'vitest'
import type { CatalogInput } from '../../src/catalog/schema'
import { ALPHA, BETA, GAMMA, testCatalog } from '../support/catalog'
import { chat, type ErrorJson, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/** test/chat with its three endpoints at 8k, 8k and 200k tokens of context. */
const catalog: CatalogInput = {
  ...testCatalog,
  models: testCatalog.models.map((model) =>
    model.id === 'test/chat'
      ? {
          ...model,
          contextLength: 200_000,
          endpoints: model.endpoints.map((endpoint, i) => ({ ...endpoint, contextLength: [8_000, 8_000, 200_000][i] })),
        }
      : model,
  ),
}

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

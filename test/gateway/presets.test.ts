import { describe, expect, it } from 'vitest'
import type { CatalogInput } from '../../src/catalog/schema'
import { chat, readSse, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion, openaiStreamEvents, sseResponse } from '../support/upstream'

/** OpenAI-compatible presets through the front door: what an Azure and a Groq upstream receive. */

const AZURE = 'http://127.0.0.1:9111'
const GROQ = 'http://127.0.0.1:9112/openai/v1'

const provider = (id: string, name: string, baseUrl: string, extra: object) => ({
  id,
  name,
  format: 'openai' as const,
  baseUrl,
  apiKeyEnv: 'TEST_PROVIDER_KEY',
  region: { name: id, lat: 0, lon: 0 },
  dataCollection: 'deny' as const,
  ...extra,
})

const endpoint = (providerId: string, upstreamModel: string) => ({
  provider: providerId,
  upstreamModel,
  pricing: { prompt: '0.000001', completion: '0.000002' },
  maxCompletionTokens: 4096,
  supportedParameters: ['temperature', 'max_tokens', 'tools', 'logprobs', 'reasoning'],
})

const catalog: CatalogInput = {
  providers: [
    provider('azure', 'Azure OpenAI', AZURE, { preset: 'azure', apiVersion: '2025-04-01-preview' }),
    provider('groq', 'Groq', GROQ, { preset: 'groq' }),
  ],
  models: [
    {
      id: 'test/both',
      name: 'Both',
      contextLength: 32000,
      modalities: { input: ['text'], output: ['text'] },
      endpoints: [endpoint('groq', 'llama-3.3-70b-versatile'), endpoint('azure', 'gpt-4o-prod')],
    },
  ],
}

const tenant = setUpGateway(catalog)

const messages = [
  { role: 'user', name: 'ann', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] },
  { role: 'assistant', content: 'hello', reasoning: 'thinking', reasoning_details: [{ type: 'reasoning.text', text: 'thinking' }] },
  { role: 'user', content: 'again' },
]

describe('OpenAI-compatible presets through the gateway', () => {
  it('send Groq its quirks: no logprobs, no message names, reasoning as reasoning_effort, Bearer auth', async () => {
    const upstream = fakeUpstreams({ [GROQ]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: 'test/both', messages, logprobs: true, temperature: 0.2, reasoning: { effort: 'low' }, top_k: 5 })
    expect(response.status).toBe(200)
    const sent = upstream.calls[0]!
    expect(sent.url).toBe(`${GROQ}/chat/completions`)
    expect(sent.headers.get('authorization')).toBe('Bearer test-upstream-key')
    expect(sent.body).toEqual({
      model: 'llama-3.3-70b-versatile',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'hi' }] },
        { role: 'assistant', content: 'hello' },
        { role: 'user', content: 'again' },
      ],
      temperature: 0.2,
      reasoning_effort: 'low',
      stream: false,
    })
  })

  it("send Azure the deployment URL with the provider's api-version and the api-key header", async () => {
    const upstream = fakeUpstreams({ [AZURE]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: 'test/both', messages, max_tokens: 50, provider: { order: ['azure'] } })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('azure')
    const sent = upstream.calls[0]!
    expect(sent.url).toBe(`${AZURE}/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-04-01-preview`)
    expect(sent.headers.get('api-key')).toBe('test-upstream-key')
    expect(sent.headers.get('authorization')).toBeNull()
    // api-version 2024-10-21 and later define max_completion_tokens, which o1 and later models need.
    expect(sent.body).toMatchObject({ model: 'gpt-4o-prod', max_completion_tokens: 50, stream: false })
    expect(sent.body).not.toHaveProperty('max_tokens')
    expect(sent.body.messages).toEqual([
      { role: 'user', name: 'ann', content: [{ type: 'text', text: 'hi' }] },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'again' },
    ])
  })

  it('ask Azure for usage in the stream and charge for it', async () => {
    const upstream = fakeUpstreams({ [AZURE]: () => sseResponse(openaiStreamEvents(['Hel', 'lo'])) })
    const response = await chat(tenant.key, { model: 'test/both', messages, stream: true, provider: { order: ['azure'] } })
    const { data, done } = await readSse(response)
    expect(upstream.calls[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    expect(done).toBe(true)
    expect(data.at(-1)).toMatchObject({ usage: { prompt_tokens: 12, completion_tokens: 2 } })
  })

  it('send Azure no more than its 4 stop sequences: a /v1/messages request with more goes elsewhere, or is refused saying why', async () => {
    const upstream = fakeUpstreams({ [GROQ]: () => jsonResponse(openaiCompletion()), [AZURE]: () => jsonResponse(openaiCompletion()) })
    const body = { model: 'test/both', max_tokens: 50, stop_sequences: ['a', 'b', 'c', 'd', 'e'], messages: [{ role: 'user', content: 'hi' }] }
    const served = await chat(tenant.key, { ...body, provider: { order: ['azure', 'groq'] } }, '/v1/messages')
    expect(served.status).toBe(200)
    expect(upstream.calls.map((call) => call.url)).toEqual([`${GROQ}/chat/completions`])
    expect(upstream.calls[0]!.body.stop).toEqual(['a', 'b', 'c', 'd', 'e'])
    const refused = await chat(tenant.key, { ...body, provider: { only: ['azure'] } }, '/v1/messages')
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('Azure OpenAI takes at most 4 stop sequences, and the request has 5')
  })

  it('answer what an earlier provider said, not that a later one could not take the request', async () => {
    fakeUpstreams({ [GROQ]: () => jsonResponse({ error: { message: 'over capacity' } }, 503) })
    const body = { model: 'test/both', max_tokens: 50, stop_sequences: ['a', 'b', 'c', 'd', 'e'], messages: [{ role: 'user', content: 'hi' }], provider: { order: ['groq', 'azure'] } }
    const response = await chat(tenant.key, body, '/v1/messages')
    expect(response.status).toBe(502)
    expect(await response.text()).toContain('over capacity')
  })

  it('route around Groq when provider.require_parameters asks for a parameter its preset drops', async () => {
    const upstream = fakeUpstreams({ [GROQ]: () => jsonResponse(openaiCompletion()), [AZURE]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: 'test/both', messages, logprobs: true, provider: { require_parameters: true } })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('azure')
    expect(upstream.calls.map((call) => new URL(call.url).port)).toEqual(['9111'])
    expect(upstream.calls[0]!.body).toMatchObject({ logprobs: true })
  })

  it('keep Groq under provider.require_parameters for logprobs: false, which its preset drops and which asks nothing', async () => {
    const upstream = fakeUpstreams({ [GROQ]: () => jsonResponse(openaiCompletion()), [AZURE]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: 'test/both', messages, logprobs: false, provider: { require_parameters: true, order: ['groq'] } })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('groq')
    expect(upstream.calls).toHaveLength(1)
  })
})

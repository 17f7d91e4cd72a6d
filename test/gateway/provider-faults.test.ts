import { describe, expect, it } from 'vitest'
import type { CatalogInput } from '../../src/catalog/schema'
import { GAMMA, testCatalog } from '../support/catalog'
import { chat, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'
import { eventStreamResponse, exception } from '../fixtures/bedrock/frames'

const GEMINI = 'http://127.0.0.1:9105/v1beta'
const BEDROCK = 'http://127.0.0.1:9301'

const gamma = {
  provider: 'gamma',
  upstreamModel: 'gamma-chat',
  pricing: { prompt: '0.000009', completion: '0.000009' },
  maxCompletionTokens: 4096,
  supportedParameters: ['temperature', 'max_tokens'],
}

/** A model served first by `first`, then by Gamma (OpenAI format). */
function fallingBackToGamma(id: string, contextLength: number, first: typeof gamma): CatalogInput['models'][number] {
  return { id, name: id, contextLength, modalities: { input: ['text'], output: ['text'] }, endpoints: [first, gamma] }
}

const catalog: CatalogInput = {
  ...testCatalog,
  providers: [
    ...testCatalog.providers,
    { id: 'gemini', name: 'Gemini', format: 'gemini', baseUrl: GEMINI, apiKeyEnv: 'TEST_PROVIDER_KEY', region: { name: 'gemini', lat: 0, lon: 0 }, dataCollection: 'deny' },
    { id: 'bedrock', name: 'Bedrock', format: 'bedrock', baseUrl: BEDROCK, apiKeyEnv: 'TEST_BEDROCK_CREDENTIALS', region: { name: 'us-west-2', lat: 0, lon: 0 }, dataCollection: 'deny' },
  ],
  models: [
    ...testCatalog.models,
    fallingBackToGamma('test/gemini-fb', 1_000_000, { provider: 'gemini', upstreamModel: 'gemini-test', pricing: { prompt: '0.000001', completion: '0.000004' }, maxCompletionTokens: 65536, supportedParameters: ['temperature', 'max_tokens'] }),
    fallingBackToGamma('test/bedrock-fb', 200_000, { provider: 'bedrock', upstreamModel: 'meta.llama3-70b-instruct-v1:0', pricing: { prompt: '0.000001', completion: '0.000002' }, maxCompletionTokens: 8192, supportedParameters: ['temperature', 'max_tokens'] }),
  ],
}

const tenant = setUpGateway(catalog)
const served = () => jsonResponse(openaiCompletion({ content: 'from gamma' }))
const ask = (model: string, extra: object = {}) => chat(tenant.key, { model, messages: [{ role: 'user', content: 'hi' }], ...extra })

describe('4xx answers that are the provider’s own trouble fail over', () => {
  it.each([
    [
      'Gemini 400 API_KEY_INVALID (our key)',
      () =>
        jsonResponse(
          {
            error: {
              code: 400,
              message: 'API key not valid. Please pass a valid API key.',
              status: 'INVALID_ARGUMENT',
              details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }],
            },
          },
          400,
        ),
      'test/gemini-fb',
    ],
    ['Gemini 400 FAILED_PRECONDITION (a region our key may not use)', () => jsonResponse({ error: { code: 400, message: 'User location is not supported for the API use.', status: 'FAILED_PRECONDITION' } }, 400), 'test/gemini-fb'],
    ['Bedrock 424 ModelErrorException', () => jsonResponse({ message: 'The model encountered an error.' }, 424, { 'x-amzn-errortype': 'ModelErrorException:http://internal.amazon.com/coral/com.amazon.bedrock/' }), 'test/bedrock-fb'],
    ['Bedrock 400 ServiceQuotaExceededException (our account)', () => jsonResponse({ message: 'Your request exceeds the service quota for your account.' }, 400, { 'x-amzn-errortype': 'ServiceQuotaExceededException:http://internal.amazon.com/coral/com.amazon.bedrock/' }), 'test/bedrock-fb'],
    ['Bedrock 400 for a model id that needs an inference profile (the catalog’s)', () => jsonResponse({ message: "Invocation of model ID anthropic.claude-test-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model." }, 400, { 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' }), 'test/bedrock-fb'],
    ['Bedrock 400 for a model id it does not know (the catalog’s)', () => jsonResponse({ message: 'The provided model identifier is invalid.' }, 400, { 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' }), 'test/bedrock-fb'],
  ])('%s', async (_label, failing, model) => {
    const upstream = fakeUpstreams({ [model === 'test/gemini-fb' ? GEMINI : BEDROCK]: failing, [GAMMA]: served })
    const response = await ask(model)
    expect(response.status).toBe(200)
    expect(upstream.calls).toHaveLength(2)
  })

  it('still ends at a Gemini 400 that is the request’s (INVALID_ARGUMENT without a key reason)', async () => {
    const upstream = fakeUpstreams({ [GEMINI]: () => jsonResponse({ error: { code: 400, message: 'Invalid JSON payload received.', status: 'INVALID_ARGUMENT' } }, 400), [GAMMA]: served })
    const response = await ask('test/gemini-fb')
    expect(response.status).toBe(400)
    expect(upstream.calls).toHaveLength(1)
  })

  it('reads Gemini’s words for a prompt past the window as context_length_exceeded', async () => {
    fakeUpstreams({
      [GEMINI]: () => jsonResponse({ error: { code: 400, message: 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).', status: 'INVALID_ARGUMENT' } }, 400),
    })
    const response = await ask('test/gemini-fb', { provider: { only: ['gemini'] } })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { metadata: Record<string, unknown> } }).error.metadata.error_type).toBe('context_length_exceeded')
  })
})

describe('a Bedrock stream’s exception before the first token', () => {
  it('is the client’s when it is a validationException: not tried elsewhere', async () => {
    const upstream = fakeUpstreams({
      [BEDROCK]: () => eventStreamResponse([exception('validationException', 'messages: text content blocks must be non-empty')]),
      [GAMMA]: served,
    })
    const response = await ask('test/bedrock-fb', { stream: true })
    expect(response.status).toBe(400)
    expect(upstream.calls).toHaveLength(1)
  })

  it('fails over when it is the provider’s (an internalServerException)', async () => {
    const upstream = fakeUpstreams({
      [BEDROCK]: () => eventStreamResponse([exception('internalServerException', 'boom')]),
      [GAMMA]: () => new Response('data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n', { headers: { 'content-type': 'text/event-stream' } }),
    })
    const response = await ask('test/bedrock-fb', { stream: true })
    expect(response.status).toBe(200)
    await response.text()
    expect(upstream.calls).toHaveLength(2)
  })
})

import { describe, expect, it } from 'vitest'
import { toGemini } from '../../src/formats/gemini/request'
import { ChatRequest } from '../../src/formats/openai/request'
import { chat, setUpGateway } from '../support/gateway'
import { anthropicText, fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * Media inputs and Gemini-native requests as the providers document them: a document's URL where
 * only its bytes are taken, data: URLs read as WHATWG reads them, and Gemini's refusals of an empty
 * stop list and of JSON mode beside function declarations (before Gemini 3).
 */
const OPENAI = 'http://127.0.0.1:9111/v1'
const OPENROUTER = 'http://127.0.0.1:9112/api/v1'
const ALPHA = 'http://127.0.0.1:9113/v1'
const ANTHROPIC = 'http://127.0.0.1:9114/v1'
const provider = (id: string, format: string, baseUrl: string, preset?: string) => ({
  id,
  name: id,
  format,
  baseUrl,
  apiKeyEnv: 'TEST_PROVIDER_KEY',
  headers: {},
  region: { name: id, lat: 0, lon: 0 },
  dataCollection: 'deny',
  ...(preset ? { preset } : {}),
})
const model = (id: string, input: string[], endpoints: { provider: string; upstreamModel: string }[]) => ({
  id,
  name: id,
  contextLength: 128_000,
  modalities: { input, output: ['text'] },
  endpoints: endpoints.map((e) => ({ ...e, pricing: { prompt: '0.000003', completion: '0.000015' }, maxCompletionTokens: 8192, supportedParameters: ['max_tokens'] })),
})
const tenant = setUpGateway({
  version: 'media-translation',
  providers: [provider('openai', 'openai', OPENAI, 'openai'), provider('openrouter', 'openai', OPENROUTER, 'openrouter'), provider('alpha', 'openai', ALPHA), provider('anthropic', 'anthropic', ANTHROPIC)],
  models: [
    model('openai/gpt-test', ['text', 'image', 'file'], [{ provider: 'openai', upstreamModel: 'gpt-test' }, { provider: 'openrouter', upstreamModel: 'openai/gpt-test' }]),
    model('test/vision', ['text', 'image'], [{ provider: 'alpha', upstreamModel: 'vision' }]),
    model('test/claude', ['text', 'image', 'file'], [{ provider: 'anthropic', upstreamModel: 'claude-test' }]),
  ],
})

const PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='
const user = (content: unknown[]) => [{ role: 'user', content }]

describe('a document by URL for an OpenAI model (OpenAI: "Chat Completions does not support file URLs")', () => {
  it('is not sent to OpenAI chat completions as file_data; the endpoint that takes URLs (OpenRouter) serves it', async () => {
    const upstream = fakeUpstreams({
      // What OpenAI answers to a URL in file.file_data.
      [OPENAI]: () =>
        jsonResponse({ error: { message: "Invalid file data: 'messages[0].content[0].file.file_data'. Expected a base64-encoded data URL with an application/pdf MIME type", type: 'invalid_request_error', param: 'messages[0].content[0].file.file_data', code: 'invalid_value' } }, 400),
      [OPENROUTER]: () => jsonResponse(openaiCompletion({ content: 'A summary.' })),
    })
    const response = await chat(
      tenant.key,
      { model: 'openai/gpt-test', input: [{ type: 'message', role: 'user', content: [{ type: 'input_file', file_url: 'https://example.com/reports/q3.pdf' }, { type: 'input_text', text: 'Summarise.' }] }] },
      '/v1/responses',
    )
    expect(upstream.calls.filter((call) => call.url.startsWith(OPENAI))).toEqual([])
    expect(response.status).toBe(200)
  })

  it('still goes to OpenAI as its bytes', async () => {
    const upstream = fakeUpstreams({ [OPENAI]: () => jsonResponse(openaiCompletion({ content: 'A summary.' })) })
    const pdf = 'data:application/pdf;base64,JVBERi0xLjQK'
    const response = await chat(tenant.key, { model: 'openai/gpt-test', messages: user([{ type: 'file', file: { filename: 'q3.pdf', file_data: pdf } }]) })
    expect(response.status).toBe(200)
    expect(upstream.calls.map((call) => call.url.startsWith(OPENAI))).toEqual([true])
  })
})

describe('a data: URL whose media type is in upper case (parsed without regard to case everywhere else)', () => {
  it('counts as an image: it reaches a model that takes images but not files', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'A pixel.' })) })
    const response = await chat(tenant.key, { model: 'test/vision', messages: user([{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:IMAGE/PNG;base64,${PIXEL}` } }]) })
    expect(await response.text()).not.toMatch(/support file input/)
    expect(response.status).toBe(200)
    expect(upstream.calls).toHaveLength(1)
  })
})

describe('base64 in a data: URL with line breaks (WHATWG forgiving-base64 drops ASCII whitespace)', () => {
  it('reaches Claude as plain base64', async () => {
    const upstream = fakeUpstreams({ [ANTHROPIC]: () => jsonResponse(anthropicText('A pixel.')) })
    const wrapped = PIXEL.replace(/(.{40})/g, '$1\r\n')
    const response = await chat(tenant.key, { model: 'test/claude', max_tokens: 64, messages: user([{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${wrapped}` } }]) })
    expect(response.status).toBe(200)
    const [turn] = upstream.calls[0]!.body.messages as Array<{ content: Array<{ source?: { data?: string } }> }>
    expect(turn!.content[1]!.source!.data).toBe(PIXEL)
  })

  it('reaches Gemini as plain base64', () => {
    const wrapped = PIXEL.replace(/(.{40})/g, '$1\n')
    const body = toGemini(ChatRequest.parse({ model: 'm', messages: user([{ type: 'image_url', image_url: { url: `data:image/png;base64,${wrapped}` } }]) }))
    expect(body.contents).toStrictEqual([{ role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data: PIXEL } }] }])
  })
})

describe('Gemini generationConfig', () => {
  const hi = [{ role: 'user', content: 'hi' }]
  const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }
  const format = { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { city: { type: 'string' } } } } }
  const config = (request: Record<string, unknown>, upstreamModel = 'gemini-2.5-flash') =>
    toGemini(ChatRequest.parse({ model: 'google/gemini-2.5-flash', messages: hi, ...request }), { upstreamModel }).generationConfig as Record<string, unknown> | undefined

  it('sends no stopSequences for `stop: []` (Gemini refuses an empty list: "stopSequences value of 0 … supported range is from 1")', () => {
    expect(config({ stop: [] })?.stopSequences).toBeUndefined()
  })

  it('sends no JSON mode beside function declarations to Gemini 2.5 ("Function calling with a response mime type: \'application/json\' is unsupported")', () => {
    expect(config({ tools: [weather], response_format: format })?.responseMimeType).toBeUndefined()
    // Without tools, and on Gemini 3, which takes both, it is sent.
    expect(config({ response_format: format })?.responseMimeType).toBe('application/json')
    expect(config({ tools: [weather], response_format: format }, 'gemini-3-flash-preview')?.responseMimeType).toBe('application/json')
  })
})

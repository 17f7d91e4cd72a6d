import { describe, expect, it } from 'vitest'
import { parseDataUrl } from '../../src/formats/data-url'
import { imageTokenBound } from '../../src/formats/openai/estimate'
import { ALPHA, BETA } from '../support/catalog'
import { chat, createKey, setUpGateway } from '../support/gateway'
import { anthropicText, fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * Inputs beyond text: a model is sent only the inputs it takes (files and audio as images are);
 * audio and documents are bounded by the window, not by their bytes; data: URLs as WHATWG reads
 * them; Bedrock's image size; Gemini's file URLs; the largest image a model counts.
 */
const GEMINI = 'http://127.0.0.1:9105/v1beta'
const BEDROCK = 'http://127.0.0.1:9301'
const provider = (id: string, format: string, baseUrl: string, apiKeyEnv = 'TEST_PROVIDER_KEY') => ({ id, name: id, format, baseUrl, apiKeyEnv, headers: {}, region: { name: id, lat: 0, lon: 0 }, dataCollection: 'deny' })
const model = (id: string, input: string[], endpoints: { provider: string; upstreamModel: string }[], contextLength = 128_000) => ({
  id,
  name: id,
  contextLength,
  modalities: { input, output: ['text'] },
  endpoints: endpoints.map((e) => ({ ...e, pricing: { prompt: '0.000003', completion: '0.000015' }, maxCompletionTokens: 8192, supportedParameters: ['max_tokens'] })),
})
const catalog = {
  version: 'media-inputs',
  providers: [provider('alpha', 'openai', ALPHA), provider('anthropic', 'anthropic', BETA), provider('gemini', 'gemini', GEMINI), provider('bedrock', 'bedrock', BEDROCK, 'TEST_BEDROCK_CREDENTIALS')],
  models: [
    model('test/vision', ['text', 'image'], [{ provider: 'alpha', upstreamModel: 'vision' }]),
    model('test/audio-chat', ['text', 'audio'], [{ provider: 'alpha', upstreamModel: 'audio' }]),
    model('test/gemini', ['text', 'image', 'file', 'audio'], [{ provider: 'gemini', upstreamModel: 'gemini-test' }], 1_048_576),
    model('test/claude', ['text', 'image', 'file'], [{ provider: 'anthropic', upstreamModel: 'claude-test' }], 200_000),
    model('anthropic/claude-sonnet-4.5', ['text', 'image', 'file'], [{ provider: 'bedrock', upstreamModel: 'anthropic.claude-sonnet-4-5-20250929-v1:0' }, { provider: 'anthropic', upstreamModel: 'claude-sonnet-4-5' }], 200_000),
  ],
}
const tenant = setUpGateway(catalog)

const PDF = 'JVBERi0xLjQK'
const WAV = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAgD4AAAB9AAACABAAZGF0YQAAAAA='
const PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='
const user = (content: unknown[]) => [{ role: 'user', content }]
/** A mono 16-bit WAV at 16 kHz of this many seconds, as base64 (only its size matters here). */
const wavSeconds = (seconds: number) => 'UklGR'.padEnd(Math.ceil((44 + seconds * 32_000) / 3) * 4, 'A')
const geminiAnswer = { candidates: [{ content: { role: 'model', parts: [{ text: 'Done.' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 3850, candidatesTokenCount: 3, totalTokenCount: 3853 } }

describe('inputs a model does not take', () => {
  it.each([
    ['a chat file part (PDF)', '/v1/chat/completions', { model: 'test/vision', messages: user([{ type: 'text', text: 'Summarise.' }, { type: 'file', file: { filename: 'q3.pdf', file_data: `data:application/pdf;base64,${PDF}` } }]) }],
    ['a /v1/messages PDF document', '/v1/messages', { model: 'test/vision', max_tokens: 64, messages: user([{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF } }, { type: 'text', text: 'Summarise.' }]) }],
    ['a /v1/responses input_file', '/v1/responses', { model: 'test/vision', input: [{ type: 'message', role: 'user', content: [{ type: 'input_file', filename: 'q3.pdf', file_data: `data:application/pdf;base64,${PDF}` }, { type: 'input_text', text: 'Summarise.' }] }] }],
    ['a chat input_audio part', '/v1/chat/completions', { model: 'test/vision', messages: user([{ type: 'text', text: 'Transcribe.' }, { type: 'input_audio', input_audio: { data: WAV, format: 'wav' } }]) }],
  ])('%s never reaches a model whose input is only text and images: a 404 naming why', async (_kind, path, body) => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, body, path)
    expect(upstream.calls).toHaveLength(0)
    expect(response.status).toBe(404)
    expect(await response.text()).toMatch(/support (file|audio) input/)
  })
})

describe('audio and documents are bounded by the window, not their bytes', () => {
  it('a 30-second clip reaches a 128K-token model', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'Transcript.' })) })
    const response = await chat(tenant.key, { model: 'test/audio-chat', messages: user([{ type: 'text', text: 'Transcribe.' }, { type: 'input_audio', input_audio: { data: wavSeconds(30), format: 'wav' } }]) })
    expect(response.status).toBe(200)
    expect(upstream.calls).toHaveLength(1)
  })

  it('a 2-minute clip (3,840 tokens at Gemini) reaches a 1M-token Gemini model', async () => {
    const upstream = fakeUpstreams({ [GEMINI]: () => jsonResponse(geminiAnswer) })
    const response = await chat(tenant.key, { model: 'test/gemini', messages: user([{ type: 'text', text: 'Transcribe.' }, { type: 'input_audio', input_audio: { data: wavSeconds(120), format: 'wav' } }]) })
    expect(response.status).toBe(200)
    expect(upstream.calls).toHaveLength(1)
  })

  it('a 1 MB PDF to a 200K-token Claude reserves the window ($0.615), which a key with $2 left affords', async () => {
    const { key } = await createKey({ name: 'two dollars', limit: 2 })
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicText('A summary.', { input_tokens: 30_000, output_tokens: 200 })) })
    const response = await chat(key, {
      model: 'test/claude',
      max_tokens: 1000,
      messages: user([{ type: 'text', text: 'Summarise.' }, { type: 'file', file: { filename: 'report.pdf', file_data: `data:application/pdf;base64,${PDF.padEnd(1_400_000, 'A')}` } }]),
    })
    expect(response.status).toBe(200)
    expect(upstream.calls).toHaveLength(1)
  })
})

describe('data: URLs', () => {
  it('read ;BASE64 as ;base64, and reach Claude as a base64 image', async () => {
    expect(parseDataUrl(`data:Image/PNG;Base64,${PIXEL}`)).toEqual({ mediaType: 'image/png', data: PIXEL })
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicText('A pixel.')) })
    const response = await chat(tenant.key, { model: 'test/claude', messages: user([{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;BASE64,${PIXEL}` } }]) })
    expect(response.status).toBe(200)
    const [turn] = upstream.calls[0]!.body.messages as Array<{ content: unknown[] }>
    expect(turn!.content[1]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PIXEL } })
  })
})

describe('an image over Bedrock’s 3.75 MB', () => {
  it('passes the Bedrock endpoint over: the Anthropic endpoint of the same model serves it', async () => {
    const fourMegabytes = 'iVBORw0K'.padEnd(Math.ceil((4 * 1024 * 1024) / 3) * 4, 'A')
    const upstream = fakeUpstreams({
      [BEDROCK]: () => jsonResponse({ message: 'image exceeds 3.75 MB maximum' }, 400, { 'x-amzn-errortype': 'ValidationException' }),
      [BETA]: () => jsonResponse(anthropicText('A chart.')),
    })
    const response = await chat(tenant.key, { model: 'anthropic/claude-sonnet-4.5', max_tokens: 64, messages: user([{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${fourMegabytes}` } }]) })
    expect(response.status).toBe(200)
    expect(upstream.calls.map((call) => call.url.startsWith(BEDROCK))).not.toContain(true)
  })
})

describe('a document by URL to Gemini, which fetches public URLs itself', () => {
  it.each([
    ['/v1/messages', { model: 'test/gemini', max_tokens: 64, messages: user([{ type: 'document', source: { type: 'url', url: 'https://example.com/reports/q3.pdf' } }, { type: 'text', text: 'Summarise.' }]) }],
    ['/v1/responses', { model: 'test/gemini', input: [{ type: 'message', role: 'user', content: [{ type: 'input_file', file_url: 'https://example.com/reports/q3.pdf' }, { type: 'input_text', text: 'Summarise.' }] }] }],
  ])('from %s goes as fileData', async (path, body) => {
    const upstream = fakeUpstreams({ [GEMINI]: () => jsonResponse(geminiAnswer) })
    const response = await chat(tenant.key, body, path)
    expect(response.status).toBe(200)
    const [turn] = upstream.calls[0]!.body.contents as Array<{ parts: unknown[] }>
    expect(turn!.parts).toContainEqual({ fileData: { fileUri: 'https://example.com/reports/q3.pdf', mimeType: 'application/pdf' } })
  })
})

describe('the most tokens an image counts', () => {
  it('covers Claude Opus 4.7’s high-resolution image (3.75 megapixels, about 5,000 tokens)', () => {
    expect(imageTokenBound('anthropic/claude-opus-4.7')).toBeGreaterThanOrEqual(Math.ceil(3_750_000 / 750))
  })
})

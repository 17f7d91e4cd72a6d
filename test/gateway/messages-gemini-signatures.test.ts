import { describe, expect, it } from 'vitest'
import type { CatalogInput } from '../../src/catalog/schema'
import { GEMINI, geminiModel, withGemini } from '../fixtures/gemini/catalog'
import { BETA, testCatalog } from '../support/catalog'
import { gatewayFetch, namedEvents, setUpGateway } from '../support/gateway'
import { anthropicText, fakeUpstreams, jsonResponse, sseResponse } from '../support/upstream'
import streamToolCall from '../fixtures/gemini/stream-tool-call.sse?raw'

/**
 * Gemini 3 refuses a replayed function call without its thought signature. Through /v1/messages
 * the signature rides in a `redacted_thinking` block, which Anthropic's clients send back as they
 * got it; the ingress gives it back to Gemini, and never to Claude.
 */

const SIGNATURE = 'CiwBcsjafM2kT9wY7rL3vP0qX5nA8bE1dH6uS4zC9fJ2gV7oK3mQ1iR8yW5tN0e='

const catalog: CatalogInput = withGemini(
  testCatalog,
  geminiModel('gemini-3-pro-preview', ['tools', 'tool_choice', 'max_tokens']),
  {
    id: 'test/stops',
    name: 'test/stops',
    contextLength: 1_000_000,
    modalities: { input: ['text'], output: ['text'] },
    endpoints: [
      { provider: 'gemini', upstreamModel: 'gemini-3-pro-preview', pricing: { prompt: '0.000001', completion: '0.000004' }, maxCompletionTokens: 65536, supportedParameters: ['max_tokens', 'stop'] },
      { provider: 'beta', upstreamModel: 'claude-test', pricing: { prompt: '0.000001', completion: '0.000004' }, maxCompletionTokens: 65536, supportedParameters: ['max_tokens', 'stop'] },
    ],
  },
)
const tenant = setUpGateway(catalog)

const messages = (body: object) =>
  gatewayFetch('/v1/messages', { method: 'POST', headers: { 'x-api-key': tenant.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: JSON.stringify(body) })
const tools = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]
const ask = { role: 'user', content: 'Weather in Oslo?' }

type Block = { type: string; id?: string; data?: string }
const called = { candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Oslo' } }, thoughtSignature: SIGNATURE }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 5 }, responseId: 'resp1' }
const answered = { candidates: [{ content: { role: 'model', parts: [{ text: 'Sunny.' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 30, candidatesTokenCount: 2 }, responseId: 'resp2' }

/** The second turn, the client sending back the content it was given and the call's result. */
function replay(content: Block[], model = 'test/gemini') {
  const use = content.find((block) => block.type === 'tool_use')!
  return messages({ model, max_tokens: 256, tools, messages: [ask, { role: 'assistant', content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '12C' }] }] })
}

const replayedCall = (body: Record<string, unknown>) => (body.contents as Array<{ role: string; parts: Array<Record<string, unknown>> }>)[1]!.parts.find((part) => part.functionCall)

describe('/v1/messages served by Gemini', () => {
  it('gives Gemini its own signature back when the client replays the content it was given', async () => {
    const upstream = fakeUpstreams({ [GEMINI]: (call) => jsonResponse((call.body.contents as unknown[]).length === 1 ? called : answered) })
    const first = (await (await messages({ model: 'test/gemini', max_tokens: 256, tools, messages: [ask] })).json()) as { content: Block[] }
    expect(first.content.map((block) => block.type)).toEqual(['redacted_thinking', 'tool_use'])
    expect((await replay(first.content)).status).toBe(200)
    expect(replayedCall(upstream.calls[1]!.body)).toMatchObject({ functionCall: { name: 'get_weather' }, thoughtSignature: SIGNATURE })
  })

  it('streams the signature as a redacted_thinking block the client replays', async () => {
    const upstream = fakeUpstreams({
      [GEMINI]: (call) =>
        (call.body.contents as unknown[]).length === 1
          ? sseResponse(streamToolCall.split('\r\n\r\n').filter(Boolean).map((event) => `${event}\r\n\r\n`))
          : jsonResponse(answered),
    })
    const streamed = await messages({ model: 'test/gemini', max_tokens: 256, stream: true, tools, messages: [ask] })
    const starts = namedEvents(await streamed.text()).filter((event) => event.type === 'content_block_start').map((event) => event.content_block as Block)
    const redacted = starts.find((block) => block.type === 'redacted_thinking')!
    const use = starts.find((block) => block.type === 'tool_use')!
    expect((await replay([redacted, { ...use, input: { city: 'Oslo' } } as Block])).status).toBe(200)
    expect(replayedCall(upstream.calls[1]!.body)).toMatchObject({ thoughtSignature: SIGNATURE })
  })

  it('sends Claude no block carrying a Gemini signature when the history goes to it', async () => {
    const upstream = fakeUpstreams({ [GEMINI]: () => jsonResponse(called), [BETA]: () => jsonResponse(anthropicText('Sunny.')) })
    const first = (await (await messages({ model: 'test/gemini', max_tokens: 256, tools, messages: [ask] })).json()) as { content: Block[] }
    expect((await replay(first.content, 'test/claude')).status).toBe(200)
    const sent = JSON.stringify(upstream.calls[1]!.body)
    expect(sent).not.toContain('redacted_thinking')
    expect(sent).not.toContain('meridian.gemini-signature')
  })
})

describe('/v1/messages with more stop sequences than Gemini takes', () => {
  const stops = ['one', 'two', 'three', 'four', 'five', 'six']
  const ask = { model: 'test/stops', max_tokens: 64, stop_sequences: stops, messages: [{ role: 'user', content: 'Count.' }], provider: { order: ['gemini', 'beta'] } }

  it('is served by a provider that takes them, Gemini never asked (it would answer 400)', async () => {
    const upstream = fakeUpstreams({ [GEMINI]: () => jsonResponse(answered), [BETA]: () => jsonResponse(anthropicText('One, two.')) })
    const response = await messages(ask)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('beta')
    expect(upstream.calls.map((call) => call.url.startsWith(GEMINI))).toEqual([false])
    expect(upstream.calls[0]!.body.stop_sequences).toEqual(stops)
  })

  it('is a 400 that says why when only Gemini could serve it', async () => {
    const upstream = fakeUpstreams({ [GEMINI]: () => jsonResponse(answered) })
    const response = await messages({ ...ask, provider: { only: ['gemini'] } })
    expect(response.status).toBe(400)
    expect(JSON.stringify(await response.json())).toContain('at most 5 stop sequences')
    expect(upstream.calls).toEqual([])
  })

  it('goes to Gemini with five', async () => {
    const upstream = fakeUpstreams({ [GEMINI]: () => jsonResponse(answered) })
    const response = await messages({ ...ask, stop_sequences: stops.slice(0, 5) })
    expect(response.status).toBe(200)
    expect((upstream.calls[0]!.body.generationConfig as { stopSequences: string[] }).stopSequences).toEqual(stops.slice(0, 5))
  })
})

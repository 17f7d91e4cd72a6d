import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { localView } from '../../src/health/local'
import type { CatalogInput } from '../../src/catalog/schema'
import { GEMINI, GEMINI_PROVIDER } from '../fixtures/gemini/catalog'
import { testCatalog } from '../support/catalog'
import { chat, type ErrorJson, readSse, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, sseResponse } from '../support/upstream'
import invalidArgument from '../fixtures/gemini/error-invalid-argument.json'
import functionCall from '../fixtures/gemini/function-call.json'
import promptBlocked from '../fixtures/gemini/prompt-blocked.json'
import streamBlocked from '../fixtures/gemini/stream-prompt-blocked.sse?raw'
import streamText from '../fixtures/gemini/stream-text.sse?raw'
import textWithThoughts from '../fixtures/gemini/text-with-thoughts.json'

/** The shared test catalog plus one Gemini-format provider serving test/gemini. */
const catalog: CatalogInput = {
  ...testCatalog,
  providers: [
    ...testCatalog.providers,
    GEMINI_PROVIDER,
  ],
  models: [
    ...testCatalog.models,
    {
      id: 'test/gemini',
      name: 'test/gemini',
      contextLength: 1_000_000,
      modalities: { input: ['text', 'image'], output: ['text'] },
      endpoints: [
        {
          provider: 'gemini',
          upstreamModel: 'gemini-test',
          pricing: { prompt: '0.000001', completion: '0.000004', cacheRead: '0.00000025' },
          maxCompletionTokens: 65536,
          supportedParameters: ['temperature', 'tools', 'tool_choice', 'response_format', 'max_tokens', 'stop', 'reasoning'],
        },
      ],
    },
    {
      id: 'test/gemini-plain',
      name: 'test/gemini-plain',
      contextLength: 1_000_000,
      modalities: { input: ['text'], output: ['text'] },
      endpoints: [
        {
          provider: 'gemini',
          upstreamModel: 'gemini-2.0-flash',
          pricing: { prompt: '0.0000001', completion: '0.0000004' },
          maxCompletionTokens: 8192,
          supportedParameters: ['temperature', 'tools', 'tool_choice', 'response_format', 'max_tokens', 'stop'],
        },
      ],
    },
  ],
}

const tenant = setUpGateway(catalog)

const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, additionalProperties: false } } }]

interface ToolCallJson {
  id: string
  function: { name: string; arguments: string }
}
interface ChoiceJson {
  finish_reason: string | null
  native_finish_reason: string | null
  message: { content: string | null; tool_calls: ToolCallJson[] }
  delta?: { role?: string; content?: string; reasoning?: string }
}
interface CompletionJson {
  choices: ChoiceJson[]
  usage: { cost: number }
}

const firstChoice = (chunk: Record<string, unknown>) => (chunk.choices as ChoiceJson[])[0]

/** Raw SSE text → one event per chunk, the way the fake upstream sends them. */
const events = (raw: string) => raw.split('\r\n\r\n').filter(Boolean).map((event) => `${event}\r\n\r\n`)

describe('Gemini-format upstreams', () => {
  it('receive generateContent with the key header, system instruction, tools and generation config', async () => {
    const upstream = fakeUpstreams({ [GEMINI]: () => jsonResponse(textWithThoughts) })
    const response = await chat(tenant.key, {
      model: 'test/gemini',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: [{ type: 'text', text: 'How tall?' }, { type: 'image_url', image_url: { url: 'https://example.com/tower.png' } }] },
      ],
      tools,
      tool_choice: 'auto',
      max_tokens: 20_000,
      temperature: 0.2,
      stop: ['END'],
      reasoning: { effort: 'low' },
    })
    expect(response.status).toBe(200)
    const sent = upstream.calls[0]!
    expect(sent.url).toBe(`${GEMINI}/models/gemini-test:generateContent`)
    expect(sent.headers.get('x-goog-api-key')).toBe('test-upstream-key')
    expect(sent.headers.get('authorization')).toBeNull()
    expect(sent.body).toStrictEqual({
      systemInstruction: { parts: [{ text: 'You are terse.' }] },
      contents: [{ role: 'user', parts: [{ text: 'How tall?' }, { fileData: { fileUri: 'https://example.com/tower.png', mimeType: 'image/png' } }] }],
      tools: [{ functionDeclarations: [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }] }],
      toolConfig: { functionCallingConfig: { mode: 'AUTO' } },
      generationConfig: { temperature: 0.2, stopSequences: ['END'], maxOutputTokens: 20_000, thinkingConfig: { thinkingBudget: 2048, includeThoughts: true } },
    })
  })

  it('send no thinkingConfig to a model that cannot think, which Gemini refuses with a 400, whatever reasoning the client asks', async () => {
    const upstream = fakeUpstreams({ [GEMINI]: () => jsonResponse(textWithThoughts) })
    for (const asked of [{ reasoning: { effort: 'high' } }, { reasoning_effort: 'none' }, { reasoning: { max_tokens: 2000 } }]) {
      const response = await chat(tenant.key, { model: 'test/gemini-plain', messages: [{ role: 'user', content: 'hi' }], max_tokens: 500, ...asked })
      expect(response.status).toBe(200)
      expect(upstream.calls.at(-1)!.body.generationConfig).toStrictEqual({ maxOutputTokens: 500 })
    }
  })

  it('answer in OpenAI shape with reasoning and cached, thought-inclusive usage priced exactly', async () => {
    fakeUpstreams({ [GEMINI]: () => jsonResponse(textWithThoughts) })
    const response = await chat(tenant.key, { model: 'test/gemini', messages: [{ role: 'user', content: 'How tall?' }] })
    const body = (await response.json()) as CompletionJson
    expect(body).toMatchObject({
      provider: 'Gemini',
      model: 'test/gemini',
      choices: [
        {
          finish_reason: 'stop',
          native_finish_reason: 'STOP',
          message: { role: 'assistant', content: 'The Eiffel Tower is about 330 metres tall, antennas included.', reasoning: expect.stringContaining('Eiffel') },
        },
      ],
      usage: { prompt_tokens: 2071, completion_tokens: 75, prompt_tokens_details: { cached_tokens: 2048 }, completion_tokens_details: { reasoning_tokens: 61 } },
    })
    // 23 uncached at $1/M + 2048 cached at $0.25/M + 75 (14 text + 61 thought) at $4/M
    expect(body.usage.cost).toBe(0.000835)
  })

  it('stream via streamGenerateContent?alt=sse as OpenAI chunks, ending with usage and [DONE]', async () => {
    const upstream = fakeUpstreams({ [GEMINI]: () => sseResponse(events(streamText)) })
    const response = await chat(tenant.key, { model: 'test/gemini', stream: true, messages: [{ role: 'user', content: 'Planets?' }] })
    expect(upstream.calls[0]!.url).toBe(`${GEMINI}/models/gemini-test:streamGenerateContent?alt=sse`)
    const { data: chunks, done } = await readSse(response)
    expect(done).toBe(true)
    const choices = chunks.map(firstChoice)
    expect(choices[0]?.delta?.role).toBe('assistant')
    expect(choices.map((choice) => choice?.delta?.reasoning).filter(Boolean)).toHaveLength(1)
    expect(choices.map((choice) => choice?.delta?.content).filter(Boolean).join('')).toBe('Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus and Neptune.')
    expect(choices.find((choice) => choice?.finish_reason)).toMatchObject({ finish_reason: 'stop', native_finish_reason: 'STOP' })
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 11, completion_tokens: 58, completion_tokens_details: { reasoning_tokens: 42 } } })
  })

  it('round-trip a tool call: the signed call comes back with its thought signature and a named function response', async () => {
    const upstream = fakeUpstreams({ [GEMINI]: () => jsonResponse(functionCall) })
    const ask = [{ role: 'user', content: 'Weather in Paris and Rome?' }]
    const first = (await (await chat(tenant.key, { model: 'test/gemini', messages: ask, tools })).json()) as CompletionJson
    const choice = first.choices[0]!
    expect(choice.finish_reason).toBe('tool_calls')
    const assistant = choice.message
    expect(assistant.tool_calls.map((call) => (JSON.parse(call.function.arguments) as { city: string }).city)).toEqual(['Paris', 'Rome'])

    await chat(tenant.key, {
      model: 'test/gemini',
      tools,
      messages: [
        ...ask,
        assistant,
        { role: 'tool', tool_call_id: assistant.tool_calls[0]!.id, content: '21C sunny' },
        { role: 'tool', tool_call_id: assistant.tool_calls[1]!.id, content: '25C clear' },
      ],
    })
    expect(upstream.calls[1]!.body.contents).toStrictEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } }, thoughtSignature: functionCall.candidates[0]!.content.parts[0]!.thoughtSignature },
          { functionCall: { name: 'get_weather', args: { city: 'Rome', unit: 'celsius' } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { content: '21C sunny' } } },
          { functionResponse: { name: 'get_weather', response: { content: '25C clear' } } },
        ],
      },
    ])
  })

  it('answer a prompt blocked for safety with an empty content_filter completion, streamed or not', async () => {
    fakeUpstreams({ [GEMINI]: () => jsonResponse(promptBlocked) })
    const response = await chat(tenant.key, { model: 'test/gemini', messages: [{ role: 'user', content: 'something unsafe' }] })
    expect(response.status).toBe(200)
    const body = (await response.json()) as CompletionJson
    expect(body.choices[0]).toMatchObject({ finish_reason: 'content_filter', native_finish_reason: 'SAFETY', message: { content: null } })
    expect(body.usage).toMatchObject({ prompt_tokens: 19, completion_tokens: 0 })

    fakeUpstreams({ [GEMINI]: () => sseResponse(events(streamBlocked)) })
    const streamed = await readSse(await chat(tenant.key, { model: 'test/gemini', stream: true, messages: [{ role: 'user', content: 'something unsafe' }] }))
    expect(streamed.done).toBe(true)
    const finish = streamed.data.map(firstChoice).find((choice) => choice?.finish_reason)
    expect(finish).toMatchObject({ finish_reason: 'content_filter', native_finish_reason: 'PROHIBITED_CONTENT' })
  })

  it('answer a call Gemini could not make (MALFORMED_FUNCTION_CALL) as finish_reason error, not an empty stop an agent takes for a finished turn', async () => {
    const malformed = {
      candidates: [{ content: { role: 'model', parts: [] }, finishReason: 'MALFORMED_FUNCTION_CALL', index: 0 }],
      usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 0, totalTokenCount: 40 },
    }
    fakeUpstreams({ [GEMINI]: () => jsonResponse(malformed) })
    const response = await chat(tenant.key, { model: 'test/gemini', messages: [{ role: 'user', content: 'weather?' }], tools })
    expect(response.status).toBe(200)
    const body = (await response.json()) as CompletionJson
    expect(body.choices[0]).toMatchObject({ finish_reason: 'error', native_finish_reason: 'MALFORMED_FUNCTION_CALL' })
    expect(body.usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 0 })

    fakeUpstreams({ [GEMINI]: () => sseResponse([`data: ${JSON.stringify(malformed)}\n\n`]) })
    const streamed = await readSse(await chat(tenant.key, { model: 'test/gemini', stream: true, messages: [{ role: 'user', content: 'weather?' }], tools }))
    expect(streamed.done).toBe(true)
    const finish = streamed.data.map(firstChoice).find((choice) => choice?.finish_reason)
    expect(finish).toMatchObject({ finish_reason: 'error', native_finish_reason: 'MALFORMED_FUNCTION_CALL' })
  })

  it.each([
    [429, { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } }],
    [400, invalidArgument],
  ])("surface Gemini's own reason for a %i, keeping its error body as metadata.raw", async (status, error) => {
    fakeUpstreams({ [GEMINI]: () => jsonResponse(error, status) })
    const response = await chat(tenant.key, { model: 'test/gemini', messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(status)
    const body = (await response.json()) as ErrorJson
    expect(body.error.message).toContain(error.error.message)
    expect(body.error.metadata).toMatchObject({ provider_name: 'Gemini', raw: error })
  })

  it("reads a stream's error event by its code: 429 RESOURCE_EXHAUSTED is the client's 429 and cools the endpoint, 400 INVALID_ARGUMENT the client's 400", async () => {
    const event = (error: object) => `data: ${JSON.stringify({ error })}\r\n\r\n`
    const ask = { model: 'test/gemini', stream: true, messages: [{ role: 'user', content: 'hi' }] }
    fakeUpstreams({ [GEMINI]: () => sseResponse([event({ code: 400, message: 'Request contains an invalid argument.', status: 'INVALID_ARGUMENT' })]) })
    for (let i = 0; i < 3; i++) expect((await chat(tenant.key, ask)).status).toBe(400)
    expect(localView(env, 'test/gemini@gemini', Date.now())).toBeUndefined()
    fakeUpstreams({ [GEMINI]: () => sseResponse([event({ code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' })]) })
    const limited = await chat(tenant.key, ask)
    expect(((await limited.json()) as ErrorJson).error.metadata).toMatchObject({ error_type: 'rate_limit_exceeded' })
    expect(limited.status).toBe(429)
    const view = localView(env, 'test/gemini@gemini', Date.now())
    expect({ circuit: view?.circuit, cooling: view?.coolingUntil != null }).toEqual({ circuit: 'closed', cooling: true })
  })

  it('takes the pause a 429 asks for in its RetryInfo detail, Gemini having sent no Retry-After, for the client and the cool-down', async () => {
    const exhausted = {
      error: {
        code: 429,
        message: 'You exceeded your current quota.',
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [] }, { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '37s' }],
      },
    }
    fakeUpstreams({ [GEMINI]: () => jsonResponse(exhausted, 429) })
    const started = Date.now()
    const response = await chat(tenant.key, { model: 'test/gemini', messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('37')
    expect(localView(env, 'test/gemini@gemini', Date.now())?.coolingUntil ?? 0).toBeGreaterThanOrEqual(started + 36_000)
  })
})

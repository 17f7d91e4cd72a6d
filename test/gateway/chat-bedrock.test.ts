import { describe, expect, it, vi } from 'vitest'
import { chat, type ErrorJson, generationOf, readSse, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse } from '../support/upstream'
import text from '../fixtures/bedrock/converse-text.json'
import { event, eventStreamResponse, exception, textStream, toolStream } from '../fixtures/bedrock/frames'
import { BEDROCK, bedrockModel, withBedrock } from '../fixtures/bedrock/catalog'

const MODEL_ID = 'anthropic.claude-test-v1:0'

/** The shared test catalog plus one Bedrock provider serving test/bedrock. */
const catalog = withBedrock(bedrockModel('test/bedrock', MODEL_ID, ['temperature', 'tools', 'tool_choice', 'max_tokens', 'stop'], { input: ['text', 'image'], maxCompletionTokens: 8192 }))

const tenant = setUpGateway(catalog)

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-west-2\/bedrock\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$/

/** A Converse stream's start and two calls of the JSON tool, the first `{"city":"Oslo"}`, the second `second`. */
const twoJsonCalls = (second: string) => [
  event('messageStart', { role: 'assistant' }),
  ...[['tooluse_1', '{"city":"Oslo"}'], ['tooluse_2', second]].flatMap(([toolUseId, input], contentBlockIndex) => [
    event('contentBlockStart', { contentBlockIndex, start: { toolUse: { toolUseId, name: 'json_response' } } }),
    event('contentBlockDelta', { contentBlockIndex, delta: { toolUse: { input } } }),
    event('contentBlockStop', { contentBlockIndex }),
  ]),
]

const firstChoice = (chunk: Record<string, unknown>) => (chunk.choices as Array<{ delta: Record<string, unknown>; finish_reason: string | null }>)[0]

describe('Bedrock Converse upstreams', () => {
  it('declares a tool whose parameters give no top-level type as an object schema', async () => {
    const upstream = fakeUpstreams({ [BEDROCK]: () => jsonResponse(text) })
    const response = await chat(tenant.key, {
      model: 'test/bedrock',
      messages: [{ role: 'user', content: 'What time is it?' }],
      tools: [{ type: 'function', function: { name: 'get_time', parameters: {} } }],
    })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.body.toolConfig).toEqual({ tools: [{ toolSpec: { name: 'get_time', inputSchema: { json: { type: 'object' } } } }] })
  })

  it('receive a signed converse call with the encoded model id and the Converse body', async () => {
    const upstream = fakeUpstreams({ [BEDROCK]: () => jsonResponse(text) })
    const response = await chat(tenant.key, {
      model: 'test/bedrock',
      messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'How tall?' }],
      max_tokens: 300,
      temperature: 0.2,
    })
    expect(response.status).toBe(200)
    const json = (await response.json()) as { choices: Array<{ message: { content: string }; finish_reason: string }>; usage: { prompt_tokens: number } }
    expect(json.choices[0]).toMatchObject({ message: { content: 'The tower is 330 m tall.' }, finish_reason: 'stop' })
    expect(json.usage.prompt_tokens).toBe(30)

    const call = upstream.calls[0]!
    expect(call.url).toBe(`${BEDROCK}/model/anthropic.claude-test-v1%3A0/converse`)
    const signed = AUTHORIZATION.exec(call.headers.get('authorization') ?? '')
    expect(signed?.[1]).toBe('accept;content-type;host;x-amz-content-sha256;x-amz-date')
    expect(call.headers.get('x-amz-date')).toMatch(/^\d{8}T\d{6}Z$/)
    expect(call.headers.get('x-amz-content-sha256')).toMatch(/^[0-9a-f]{64}$/)
    expect(call.body).toEqual({
      system: [{ text: 'Be terse.' }],
      messages: [{ role: 'user', content: [{ text: 'How tall?' }] }],
      inferenceConfig: { maxTokens: 300, temperature: 0.2 },
    })
  })

  it('stream text from converse-stream event frames', async () => {
    const upstream = fakeUpstreams({ [BEDROCK]: () => eventStreamResponse(textStream, 5) })
    const response = await chat(tenant.key, { model: 'test/bedrock', messages: [{ role: 'user', content: 'Hi' }], stream: true })
    expect(response.status).toBe(200)
    const { data, done } = await readSse(response)
    expect(upstream.calls[0]!.url).toBe(`${BEDROCK}/model/anthropic.claude-test-v1%3A0/converse-stream`)
    expect(upstream.calls[0]!.headers.get('authorization')).toMatch(AUTHORIZATION)
    const content = data.map((chunk) => firstChoice(chunk)?.delta?.content ?? '').join('')
    expect(content).toBe('Hello!')
    expect(data.map((chunk) => firstChoice(chunk)?.finish_reason).filter(Boolean)).toEqual(['stop'])
    expect(data.at(-1)!.usage).toMatchObject({ prompt_tokens: 21, completion_tokens: 3 })
    expect(done).toBe(true)
  })

  it('stream tool calls incrementally', async () => {
    fakeUpstreams({ [BEDROCK]: () => eventStreamResponse(toolStream, 11) })
    const response = await chat(tenant.key, { model: 'test/bedrock', messages: [{ role: 'user', content: 'Weather?' }], stream: true, tools: [{ type: 'function', function: { name: 'get_weather' } }] })
    const { data } = await readSse(response)
    const calls = data.flatMap((chunk) => (firstChoice(chunk)?.delta?.tool_calls as Array<{ function: { arguments?: string } }> | undefined) ?? [])
    expect(calls.map((call) => call.function.arguments ?? '').join('')).toBe('{"city":"Paris"}')
    expect(data.map((chunk) => firstChoice(chunk)?.finish_reason).filter(Boolean)).toEqual(['tool_calls'])
  })

  it("give Claude's signed thinking back on /v1/messages, and replay it with the tool result so thinking stays on", async () => {
    const converse = {
      output: {
        message: {
          role: 'assistant',
          content: [
            { reasoningContent: { reasoningText: { text: 'Need the weather.', signature: 'sig-1' } } },
            { reasoningContent: { redactedContent: 'b3BhcXVl' } },
            { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Oslo' } } },
          ],
        },
      },
      stopReason: 'tool_use',
      usage: { inputTokens: 30, outputTokens: 12 },
    }
    const upstream = fakeUpstreams({ [BEDROCK]: () => jsonResponse(converse) })
    const tools = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]
    const ask = { model: 'test/bedrock', max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 1024 }, tools, messages: [{ role: 'user', content: 'Weather in Oslo?' }] }
    const first = await chat(tenant.key, ask, '/v1/messages')
    expect(first.status).toBe(200)
    const answer = (await first.json()) as { content: object[] }
    expect(answer.content.slice(0, 2)).toEqual([
      { type: 'thinking', thinking: 'Need the weather.', signature: 'sig-1' },
      { type: 'redacted_thinking', data: 'b3BhcXVl' },
    ])
    expect(upstream.calls[0]!.body).toMatchObject({ additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 1024 } }, inferenceConfig: { maxTokens: 2000 } })

    const toolResult = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tooluse_1', content: 'Sunny' }] }
    await chat(tenant.key, { ...ask, messages: [...ask.messages, { role: 'assistant', content: answer.content }, toolResult] }, '/v1/messages')
    const sent = upstream.calls[1]!.body as { additionalModelRequestFields?: object; messages: Array<{ content: object[] }> }
    expect(sent.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 1024 } })
    expect(sent.messages[1]!.content).toEqual([
      { reasoningContent: { reasoningText: { text: 'Need the weather.', signature: 'sig-1' } } },
      { reasoningContent: { redactedContent: 'b3BhcXVl' } },
      { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Oslo' } } },
    ])
  })

  it('answer response_format with JSON through a forced tool', async () => {
    const converse = {
      output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'json_response', input: { height_m: 330 } } }] } },
      stopReason: 'tool_use',
      usage: { inputTokens: 20, outputTokens: 8 },
    }
    const upstream = fakeUpstreams({ [BEDROCK]: () => jsonResponse(converse) })
    const schema = { type: 'object', properties: { height_m: { type: 'number' } } }
    const response = await chat(tenant.key, { model: 'test/bedrock', messages: [{ role: 'user', content: 'How tall?' }], response_format: { type: 'json_schema', json_schema: { name: 'height', schema } } })
    expect(response.status).toBe(200)
    const json = (await response.json()) as { choices: Array<{ message: { content: string; tool_calls?: unknown }; finish_reason: string }> }
    expect(json.choices[0]!.message.content).toBe('{"height_m":330}')
    expect(json.choices[0]!.message.tool_calls).toBeUndefined()
    expect(json.choices[0]!.finish_reason).toBe('stop')
    expect(upstream.calls[0]!.body).toMatchObject({ toolConfig: { toolChoice: { tool: { name: 'json_response' } } } })
  })

  it('stream an empty-object response_format answer as "{}", as the non-streaming answer has it', async () => {
    fakeUpstreams({
      [BEDROCK]: () =>
        eventStreamResponse([
          event('messageStart', { role: 'assistant' }),
          event('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: 'tooluse_J', name: 'json_response' } } }),
          event('contentBlockStop', { contentBlockIndex: 0 }),
          event('messageStop', { stopReason: 'tool_use' }),
          event('metadata', { usage: { inputTokens: 20, outputTokens: 3, totalTokens: 23 } }),
        ]),
    })
    const response = await chat(tenant.key, { model: 'test/bedrock', stream: true, messages: [{ role: 'user', content: 'Hi' }], response_format: { type: 'json_object' } })
    const { data } = await readSse(response)
    expect(data.map((chunk) => firstChoice(chunk)?.delta?.content ?? '').join('')).toBe('{}')
  })

  it('answer the first of two calls of the JSON tool (Converse cannot ask for one), the same JSON streamed or not', async () => {
    const responseFormat = { type: 'json_schema', json_schema: { name: 'city', schema: { type: 'object', properties: { city: { type: 'string' } } } } }
    const converse = {
      output: { message: { role: 'assistant', content: [
        { toolUse: { toolUseId: 'tooluse_1', name: 'json_response', input: { city: 'Oslo' } } },
        { toolUse: { toolUseId: 'tooluse_2', name: 'json_response', input: { city: 'Rome' } } },
      ] } },
      stopReason: 'tool_use',
      usage: { inputTokens: 20, outputTokens: 16 },
    }
    fakeUpstreams({ [BEDROCK]: () => jsonResponse(converse) })
    const plain = await chat(tenant.key, { model: 'test/bedrock', messages: [{ role: 'user', content: 'Which city?' }], response_format: responseFormat })
    const plainContent = ((await plain.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content
    expect(JSON.parse(plainContent)).toEqual({ city: 'Oslo' })
    fakeUpstreams({
      [BEDROCK]: () =>
        eventStreamResponse([
          ...twoJsonCalls('{"city":"Rome"}'),
          event('messageStop', { stopReason: 'tool_use' }),
          event('metadata', { usage: { inputTokens: 20, outputTokens: 16, totalTokens: 36 } }),
        ]),
    })
    const streamed = await chat(tenant.key, { model: 'test/bedrock', stream: true, messages: [{ role: 'user', content: 'Which city?' }], response_format: responseFormat })
    const { data } = await readSse(streamed)
    expect(data.map((chunk) => firstChoice(chunk)?.delta?.content ?? '').join('')).toBe(plainContent)
  })

  it('charge a second call of the JSON tool, not shown, when the stream ends before its usage (Converse gives usage only last)', async () => {
    const long = JSON.stringify({ city: 'R'.repeat(4000) })
    fakeUpstreams({
      [BEDROCK]: () =>
        eventStreamResponse([
          ...twoJsonCalls(long),
        ], 1024),
    })
    const { data } = await readSse(await chat(tenant.key, { model: 'test/bedrock', stream: true, messages: [{ role: 'user', content: 'Which city?' }], response_format: { type: 'json_object' } }))
    expect(data.map((chunk) => firstChoice(chunk)?.delta?.content ?? '').join('')).toBe('{"city":"Oslo"}')
    const id = data[0]!.id as string
    await vi.waitFor(async () => expect(await generationOf(tenant.key, id)).toMatchObject({ tokens_completion: expect.any(Number) }))
    expect(((await generationOf(tenant.key, id)) as { tokens_completion: number }).tokens_completion).toBeGreaterThanOrEqual(1000)
  })

  it('treat an exception frame before any token as a failed attempt, keeping the raw reason', async () => {
    fakeUpstreams({ [BEDROCK]: () => eventStreamResponse([exception('throttlingException', 'Too many requests')]) })
    const response = await chat(tenant.key, { model: 'test/bedrock', messages: [{ role: 'user', content: 'Hi' }], stream: true })
    // A throttlingException is Converse's 429: the endpoint cools, and the client is told to retry later.
    expect(response.status).toBe(429)
    const json = (await response.json()) as ErrorJson
    expect(JSON.stringify(json.error.metadata)).toContain('Too many requests')
  })

  it('refuse http image URLs with a 400 naming the part', async () => {
    fakeUpstreams({})
    const response = await chat(tenant.key, {
      model: 'test/bedrock',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }],
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toContain('messages[0].content[0]')
  })
})

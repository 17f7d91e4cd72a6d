import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { BEDROCK, bedrockModel, withBedrock } from '../fixtures/bedrock/catalog'
import { event, eventStreamResponse } from '../fixtures/bedrock/frames'
import { chat, gatewayFetch, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse } from '../support/upstream'

/**
 * Some Converse models (OpenAI's gpt-oss on Bedrock, strands-agents/harness-sdk#644) end a turn
 * that calls tools with `stopReason: "end_turn"`, and some a turn without calls with `tool_use`.
 * The calls decide, as for OpenAI-format and Gemini upstreams: agent loops branch on
 * `finish_reason: "tool_calls"` (or `stop_reason: "tool_use"`).
 */

const tenant = setUpGateway(withBedrock(bedrockModel('test/gpt-oss', 'openai.gpt-oss-120b-1:0', ['tools', 'tool_choice', 'max_tokens'])))

const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]
const ask = { model: 'test/gpt-oss', messages: [{ role: 'user' as const, content: 'Weather in Paris?' }], tools }
type Answer = { choices: { finish_reason: string; message: { tool_calls?: unknown[] } }[] }

const converse = {
  output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_A', name: 'get_weather', input: { city: 'Paris' } } }] } },
  stopReason: 'end_turn',
  usage: { inputTokens: 20, outputTokens: 10, totalTokens: 30 },
}
const converseStream = () =>
  eventStreamResponse([
    event('messageStart', { role: 'assistant' }),
    event('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: 'tooluse_A', name: 'get_weather' } } }),
    event('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: '{"city":"Paris"}' } } }),
    event('contentBlockStop', { contentBlockIndex: 0 }),
    event('messageStop', { stopReason: 'end_turn' }),
    event('metadata', { usage: { inputTokens: 20, outputTokens: 10, totalTokens: 30 } }),
  ])

describe('a Converse turn that calls tools but says end_turn', () => {
  it('finishes with tool_calls (JSON)', async () => {
    fakeUpstreams({ [BEDROCK]: () => jsonResponse(converse) })
    const body = (await (await chat(tenant.key, ask)).json()) as Answer
    expect(body.choices[0]!.message.tool_calls).toHaveLength(1)
    expect(body.choices[0]!.finish_reason).toBe('tool_calls')
  })

  it('finishes with tool_calls (stream, as the openai SDK assembles it)', async () => {
    fakeUpstreams({ [BEDROCK]: converseStream })
    const client = new OpenAI({ baseURL: 'https://gateway.test/v1', apiKey: tenant.key, fetch: ((url: string, init: RequestInit) => gatewayFetch(new URL(url).pathname, init)) as typeof fetch })
    const final = await client.chat.completions.stream(ask).finalChatCompletion()
    expect(final.choices[0]!.message.tool_calls).toHaveLength(1)
    expect(final.choices[0]!.finish_reason).toBe('tool_calls')
  })

  it('stops for tool_use on /v1/messages', async () => {
    fakeUpstreams({ [BEDROCK]: () => jsonResponse(converse) })
    const tool = { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }
    const response = await chat(tenant.key, { model: 'test/gpt-oss', max_tokens: 100, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [tool] }, '/v1/messages')
    const body = (await response.json()) as { stop_reason: string; content: { type: string }[] }
    expect(body.content.map((block) => block.type)).toEqual(['tool_use'])
    expect(body.stop_reason).toBe('tool_use')
  })
})

describe('a Converse turn without calls that says tool_use', () => {
  it('finishes with stop, not tool_calls without calls', async () => {
    fakeUpstreams({ [BEDROCK]: () => jsonResponse({ output: { message: { role: 'assistant', content: [{ text: 'Done.' }] } }, stopReason: 'tool_use', usage: { inputTokens: 20, outputTokens: 2 } }) })
    const body = (await (await chat(tenant.key, ask)).json()) as Answer
    expect(body.choices[0]!.message.tool_calls).toBeUndefined()
    expect(body.choices[0]!.finish_reason).toBe('stop')
  })
})

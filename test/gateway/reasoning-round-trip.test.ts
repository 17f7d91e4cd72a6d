import { describe, expect, it } from 'vitest'
import type { CatalogInput } from '../../src/catalog/schema'
import { chat, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * Reasoning at OpenAI-format providers with quirks of their own: DeepSeek reads an earlier turn's
 * reasoning from `reasoning_content` (and refuses a tool-call turn without it), OpenAI's effort
 * scale stops at `xhigh`, xAI counts reasoning tokens outside `completion_tokens`.
 */

const DEEPSEEK = 'http://127.0.0.1:9401/v1'
const OPENAI = 'http://127.0.0.1:9402/v1'
const XAI = 'http://127.0.0.1:9406/v1'

const provider = (id: string, baseUrl: string, preset: 'deepseek' | 'openai' | 'xai') => ({
  id,
  name: id,
  format: 'openai' as const,
  baseUrl,
  apiKeyEnv: 'TEST_PROVIDER_KEY',
  region: { name: id, lat: 0, lon: 0 },
  dataCollection: 'deny' as const,
  preset,
})
const model = (id: string, providerId: string, upstreamModel: string) => ({
  id,
  name: id,
  contextLength: 128000,
  modalities: { input: ['text' as const], output: ['text' as const] },
  endpoints: [
    {
      provider: providerId,
      upstreamModel,
      pricing: { prompt: '0.000001', completion: '0.000002' },
      maxCompletionTokens: 8192,
      supportedParameters: ['tools', 'tool_choice', 'max_tokens', 'reasoning', 'include_reasoning'],
    },
  ],
})

const catalog: CatalogInput = {
  providers: [provider('deepseek', DEEPSEEK, 'deepseek'), provider('openai', OPENAI, 'openai'), provider('xai', XAI, 'xai')],
  models: [model('rv/deepseek', 'deepseek', 'deepseek-reasoner'), model('rv/gpt', 'openai', 'gpt-5'), model('rv/grok', 'xai', 'grok-3-mini')],
}
const tenant = setUpGateway(catalog)
const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]
const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }

describe('DeepSeek', () => {
  it.each([
    ['reasoning', { reasoning: 'I should call the tool.' }],
    ['reasoning_details', { reasoning_details: [{ type: 'reasoning.text', text: 'I should call ', index: 0 }, { type: 'reasoning.text', text: 'the tool.', index: 1 }] }],
    ['reasoning_content, as a client of DeepSeek’s own API sends it', { reasoning_content: 'I should call the tool.' }],
  ])('is sent an earlier turn’s %s back as reasoning_content', async (_label, reasoning) => {
    const upstream = fakeUpstreams({ [DEEPSEEK]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, {
      model: 'rv/deepseek',
      tools,
      messages: [
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: null, ...reasoning, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'call_1', content: '12C' },
      ],
    })
    expect(response.status).toBe(200)
    const sent = (upstream.calls[0]!.body as { messages: Record<string, unknown>[] }).messages[1]!
    expect(sent).toMatchObject({ role: 'assistant', reasoning_content: 'I should call the tool.' })
    expect(sent).not.toHaveProperty('reasoning')
    expect(sent).not.toHaveProperty('reasoning_details')
  })

  it('is sent an empty reasoning_content on a tool-call turn whose client kept no reasoning, and none on other turns', async () => {
    const upstream = fakeUpstreams({ [DEEPSEEK]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, {
      model: 'rv/deepseek',
      tools,
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'call_1', content: '12C' },
      ],
    })
    expect(response.status).toBe(200)
    const sent = (upstream.calls[0]!.body as { messages: Record<string, unknown>[] }).messages
    expect(sent[3]).toMatchObject({ role: 'assistant', reasoning_content: '' })
    expect(sent[1]).not.toHaveProperty('reasoning_content')
  })
})

describe('OpenAI', () => {
  it('is sent OpenRouter’s reasoning_effort "max" as its top, xhigh, as reasoning.effort is', async () => {
    const upstream = fakeUpstreams({ [OPENAI]: () => jsonResponse(openaiCompletion()) })
    for (const asked of [{ reasoning_effort: 'max' }, { reasoning: { effort: 'max' } }, { reasoning_effort: 'low' }]) {
      const response = await chat(tenant.key, { model: 'rv/gpt', ...asked, messages: [{ role: 'user', content: 'hi' }] })
      expect(response.status).toBe(200)
    }
    expect(upstream.calls.map((sent) => sent.body.reasoning_effort)).toEqual(['xhigh', 'xhigh', 'low'])
  })
})

describe('xAI', () => {
  it('has the reasoning tokens it counts outside completion_tokens billed as output', async () => {
    // xAI's usage: total = prompt + completion + reasoning.
    const usage = { prompt_tokens: 32, completion_tokens: 9, total_tokens: 176, completion_tokens_details: { reasoning_tokens: 135 } }
    fakeUpstreams({ [XAI]: () => jsonResponse({ ...openaiCompletion({ content: 'Hi' }), usage }) })
    const response = await chat(tenant.key, { model: 'rv/grok', messages: [{ role: 'user', content: 'hi' }] })
    const body = (await response.json()) as { usage: { completion_tokens: number; total_tokens: number; cost: number; completion_tokens_details: { reasoning_tokens: number } } }
    expect(body.usage).toMatchObject({ completion_tokens: 144, total_tokens: 176, completion_tokens_details: { reasoning_tokens: 135 } })
    // 32 × $1/M + 144 × $2/M
    expect(body.usage.cost).toBe(0.00032)
  })

  it('leaves OpenAI’s usage, where reasoning is within completion_tokens, as it is', async () => {
    const usage = { prompt_tokens: 32, completion_tokens: 144, total_tokens: 176, completion_tokens_details: { reasoning_tokens: 135 } }
    fakeUpstreams({ [OPENAI]: () => jsonResponse({ ...openaiCompletion({ content: 'Hi' }), usage }) })
    const response = await chat(tenant.key, { model: 'rv/gpt', messages: [{ role: 'user', content: 'hi' }] })
    const body = (await response.json()) as { usage: { completion_tokens: number; cost: number } }
    expect(body.usage).toMatchObject({ completion_tokens: 144, cost: 0.00032 })
  })
})

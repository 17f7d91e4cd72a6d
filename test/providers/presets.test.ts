import { describe, expect, it } from 'vitest'
import { nineCharToolId } from '../../src/formats/tool-ids'
import type { ChatRequest } from '../../src/formats/openai/request'
import { PRESETS } from '../../src/providers/presets'
import { BASE, send, type ProviderFields } from './support'

/** What each preset puts on the wire for the same rich request. */

const request: ChatRequest = {
  model: 'x/y',
  messages: [
    { role: 'system', content: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }] },
    { role: 'user', name: 'ann', content: 'hi' },
    {
      role: 'assistant', content: 'hello', refusal: null, reasoning: 'thought', reasoning_details: [{ type: 'reasoning.text', text: 'thought' }],
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' }, cache_control: { type: 'ephemeral' } }],
    },
    { role: 'tool', tool_call_id: 'call_1', content: 'failed', is_error: true },
    { role: 'user', content: 'again' },
  ],
  max_tokens: 100,
  temperature: 2,
  seed: 7,
  stop: ['END'],
  user: 'u1',
  top_k: 40,
  logit_bias: { '1': 5 },
  logprobs: true,
  presence_penalty: 0.5,
  tools: [{ type: 'function', function: { name: 'f', cache_control: { type: 'ephemeral' } }, cache_control: { type: 'ephemeral' } }],
  reasoning: { effort: 'high' },
  provider: { sort: 'price' },
}

const plainMessages = [
  { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
  { role: 'user', name: 'ann', content: 'hi' },
  { role: 'assistant', content: 'hello', refusal: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
  { role: 'tool', tool_call_id: 'call_1', content: 'failed' },
  { role: 'user', content: 'again' },
]

const withMistralIds = (message: Record<string, unknown>): Record<string, unknown> => {
  const id = nineCharToolId('call_1')
  if (message.role === 'tool') return { ...message, tool_call_id: id }
  if (!Array.isArray(message.tool_calls)) return message
  return { ...message, tool_calls: message.tool_calls.map((call: Record<string, unknown>) => ({ ...call, id })) }
}

/** What a strict provider gets: no cache_control on the tools or the calls either. */
const plainTools = [{ type: 'function', function: { name: 'f' } }]

const { provider: _gateway, ...forwarded } = request

const cases: Array<{ preset: ProviderFields['preset']; expected: Record<string, unknown> }> = [
  // No preset: everything but the gateway's own fields goes out as it came.
  { preset: undefined, expected: { ...forwarded, model: 'up-model', stream: false } },
  {
    preset: 'openai',
    expected: {
      model: 'up-model', stream: false, messages: plainMessages, max_completion_tokens: 100, temperature: 2, seed: 7, stop: ['END'],
      user: 'u1', logit_bias: { '1': 5 }, logprobs: true, presence_penalty: 0.5, tools: plainTools, reasoning_effort: 'high',
    },
  },
  {
    preset: 'groq',
    expected: {
      model: 'up-model', stream: false, max_tokens: 100, temperature: 2, seed: 7, stop: ['END'], user: 'u1', presence_penalty: 0.5,
      tools: plainTools, reasoning_effort: 'high',
      messages: plainMessages.map(({ name: _name, ...message }) => message),
    },
  },
  {
    preset: 'mistral',
    expected: {
      model: 'up-model', stream: false, max_tokens: 100, temperature: 2, random_seed: 7, stop: ['END'], presence_penalty: 0.5,
      tools: plainTools,
      // Mistral takes tool-call ids of nine letters or digits: call_1 goes as its hash's.
      messages: plainMessages.map(({ name: _name, refusal: _refusal, ...message }) => withMistralIds(message)),
    },
  },
  {
    preset: 'cerebras',
    expected: { ...forwarded, model: 'up-model', stream: false, presence_penalty: undefined, logit_bias: undefined, reasoning: undefined, reasoning_effort: 'high' },
  },
  {
    preset: 'xai',
    expected: { ...forwarded, model: 'up-model', stream: false, presence_penalty: undefined, reasoning: undefined, reasoning_effort: 'high' },
  },
  {
    preset: 'perplexity',
    expected: {
      ...forwarded, model: 'up-model', stream: false, temperature: 1.99, reasoning: undefined, reasoning_effort: 'high',
      tools: undefined, logit_bias: undefined, logprobs: undefined, stop: undefined, seed: undefined,
    },
  },
  { preset: 'openrouter', expected: { ...forwarded, model: 'up-model', stream: false } },
  { preset: 'together', expected: { ...forwarded, model: 'up-model', stream: false } },
  { preset: 'vllm', expected: { ...forwarded, model: 'up-model', stream: false } },
]

describe('OpenAI-compatible presets: request body', () => {
  it.each(cases)('$preset', async ({ preset, expected }) => {
    const { body } = await send(request, { preset })
    expect(body).toEqual(JSON.parse(JSON.stringify(expected)))
  })

  it('lets a client-set max_completion_tokens win over a renamed max_tokens (openai)', async () => {
    const { body } = await send({ ...request, max_completion_tokens: 50 }, { preset: 'openai' })
    expect(body.max_completion_tokens).toBe(50)
    expect(body).not.toHaveProperty('max_tokens')
  })

  it("sends Claude's effort max as OpenAI's top, xhigh (openai)", async () => {
    expect((await send({ ...request, reasoning: { effort: 'max' } }, { preset: 'openai' })).body.reasoning_effort).toBe('xhigh')
  })

  it("sends OpenRouter's verbosity xhigh or max as OpenAI's top, high, and the rest as they are (openai); OpenRouter takes all five", async () => {
    expect((await send({ ...request, verbosity: 'max' }, { preset: 'openai' })).body.verbosity).toBe('high')
    expect((await send({ ...request, verbosity: 'xhigh' }, { preset: 'azure' })).body.verbosity).toBe('high')
    expect((await send({ ...request, verbosity: 'low' }, { preset: 'openai' })).body.verbosity).toBe('low')
    expect((await send({ ...request, verbosity: 'max' }, { preset: 'openrouter' })).body.verbosity).toBe('max')
  })

  it.each(['openrouter', 'vllm', undefined] as const)("sends no reasoning.display (Claude's thinking display, Meridian's to read) to %s, which take reasoning as it is", async (preset) => {
    for (const display of [null, 'omitted']) {
      const { body } = await send({ ...request, reasoning: { max_tokens: 2048, display } }, { preset })
      expect(body.reasoning).toStrictEqual({ max_tokens: 2048 })
    }
  })

  it("sends OpenAI (and Azure) a user or safety_identifier over its 64 characters as one within them, the same for the same id (Claude Code's metadata.user_id is about 160)", async () => {
    const claudeCode = `user_${'a'.repeat(64)}_account_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0_session_1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809`
    const sent = async (preset: 'openai' | 'azure' | 'openrouter', user: string) => (await send({ ...request, user, safety_identifier: user } as typeof request, { preset })).body
    for (const preset of ['openai', 'azure'] as const) {
      const body = await sent(preset, claudeCode)
      expect((body.user as string).length).toBeLessThanOrEqual(64)
      expect(body.user).toMatch(/^user_a+-[0-9a-f]{14}$/)
      expect(body.safety_identifier).toBe(body.user)
      expect((await sent(preset, claudeCode)).user).toBe(body.user)
      expect((await sent(preset, claudeCode.replace('session_1', 'session_2'))).user).not.toBe(body.user)
      expect((await sent(preset, 'u'.repeat(64))).user).toBe('u'.repeat(64))
    }
    expect((await sent('openrouter', claudeCode)).user).toBe(claudeCode)
  })

  it('keeps a client-set reasoning_effort and drops a reasoning object without an effort (openai)', async () => {
    expect((await send({ ...request, reasoning_effort: 'low' }, { preset: 'openai' })).body.reasoning_effort).toBe('low')
    const { body } = await send({ ...request, reasoning: { max_tokens: 2000 } }, { preset: 'openai' })
    expect(body).not.toHaveProperty('reasoning_effort')
    expect(body).not.toHaveProperty('reasoning')
  })
})

describe('OpenAI-compatible presets: the developer role', () => {
  const developer: ChatRequest = { model: 'x/y', messages: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: 'hi' }] }
  it.each([
    { preset: undefined, role: 'developer' },
    { preset: 'openai', role: 'developer' },
    { preset: 'azure', role: 'system' },
    { preset: 'openrouter', role: 'developer' },
    { preset: 'mistral', role: 'system' },
    { preset: 'groq', role: 'system' },
    { preset: 'perplexity', role: 'system' },
    { preset: 'deepseek', role: 'system' },
    { preset: 'vllm', role: 'system' },
    { preset: 'ollama', role: 'system' },
  ] as const)('$preset gets a developer message as $role', async ({ preset, role }) => {
    const { body } = await send(developer, { preset })
    expect(body.messages).toEqual([{ role, content: 'Be brief.' }, { role: 'user', content: 'hi' }])
  })
})

describe('OpenAI-compatible presets: streaming usage', () => {
  it.each([
    { preset: undefined, asks: true },
    { preset: 'openai', asks: true },
    { preset: 'groq', asks: true },
    { preset: 'mistral', asks: false },
    { preset: 'perplexity', asks: false },
    { preset: 'ollama', asks: true },
  ] as const)('$preset asks for stream usage: $asks', async ({ preset, asks }) => {
    const { body } = await send(request, { preset }, true)
    expect(body.stream).toBe(true)
    expect(body.stream_options).toEqual(asks ? { include_usage: true } : undefined)
  })
})

describe('OpenAI-compatible presets: URL and auth', () => {
  it.each([
    { preset: undefined, url: `${BASE}/chat/completions`, auth: { authorization: 'Bearer sk-test' } },
    { preset: 'groq', url: `${BASE}/chat/completions`, auth: { authorization: 'Bearer sk-test' } },
    { preset: 'vllm', url: `${BASE}/chat/completions`, auth: {} },
    { preset: 'ollama', url: `${BASE}/chat/completions`, auth: {} },
    {
      preset: 'azure',
      url: `${BASE}/openai/deployments/up-model/chat/completions?api-version=2024-10-21`,
      auth: { 'api-key': 'sk-test' },
    },
  ] as const)('$preset', async ({ preset, url, auth }) => {
    const sent = await send(request, { preset })
    expect(sent.url).toBe(url)
    expect({ authorization: sent.headers.get('authorization'), 'api-key': sent.headers.get('api-key') }).toEqual({
      authorization: null,
      'api-key': null,
      ...auth,
    })
  })

  it("puts the provider's apiVersion and an escaped deployment in Azure's URL", async () => {
    const sent = await send(request, { preset: 'azure', apiVersion: '2025-04-01-preview' }, false, 'my deployment')
    expect(sent.url).toBe(`${BASE}/openai/deployments/my%20deployment/chat/completions?api-version=2025-04-01-preview`)
  })

  it("lets the provider's headers add to and override the preset's", async () => {
    const sent = await send(request, { preset: 'vllm', headers: { authorization: 'Bearer local', 'x-tenant': 't1' } })
    expect(sent.headers.get('authorization')).toBe('Bearer local')
    expect(sent.headers.get('x-tenant')).toBe('t1')
  })
})

describe('preset data', () => {
  it('gives every hosted preset an https base URL and the local ones a localhost one', () => {
    for (const [id, preset] of Object.entries(PRESETS)) {
      if (id === 'azure') expect(preset.baseUrl, id).toBeNull() // one per Azure resource
      else if (preset.auth === 'none') expect(preset.baseUrl, id).toMatch(/^http:\/\/localhost:\d+\/v1$/)
      else expect(preset.baseUrl, id).toMatch(/^https:\/\/[^\s]+[^/]$/)
    }
  })
})

import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { ChatCompletionsRequest, fromChatCompletions, legacyDelta, legacyMessage } from '../../src/formats/openai/functions'

const weather = { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { city: { type: 'string' } } } }
const convert = (body: Record<string, unknown>) => fromChatCompletions(ChatCompletionsRequest.parse({ model: 'a/b', ...body }))

describe('fromChatCompletions', () => {
  it('passes a current request through untouched', () => {
    const messages = [{ role: 'user', content: 'hi' }]
    expect(convert({ messages, tools: [{ type: 'function', function: weather }] })).toStrictEqual({
      request: { model: 'a/b', messages, tools: [{ type: 'function', function: weather }] },
      answer: { legacy: false, custom: new Set() },
    })
  })

  it('turns functions, function_call and the function role into tools, a tool call with a made id and its result', () => {
    const { request, answer } = convert({
      functions: [weather],
      function_call: { name: 'get_weather' },
      messages: [
        { role: 'user', content: 'Weather in Oslo and Rome?' },
        { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        { role: 'function', name: 'get_weather', content: '12C' },
        { role: 'assistant', content: 'Next.', function_call: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        { role: 'function', name: 'get_weather', content: null },
      ],
    })
    expect(answer.legacy).toBe(true)
    expect(request).toStrictEqual({
      model: 'a/b',
      tools: [{ type: 'function', function: weather }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      messages: [
        { role: 'user', content: 'Weather in Oslo and Rome?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_fn_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
        { role: 'tool', tool_call_id: 'call_fn_1', content: '12C' },
        { role: 'assistant', content: 'Next.', tool_calls: [{ id: 'call_fn_3', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] },
        { role: 'tool', tool_call_id: 'call_fn_3', content: '' },
      ],
    })
  })

  const history = [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{}' } },
    { role: 'function', name: 'get_weather', content: 'x' },
  ]

  it('takes "none" and "auto" as they are; a follow-up with no functions declares the ones it called, choosing none', () => {
    expect(convert({ functions: [weather], function_call: 'none', messages: [{ role: 'user', content: 'hi' }] }).request.tool_choice).toBe('none')
    const followUp = convert({ messages: history })
    expect(followUp.answer.legacy).toBe(true)
    expect(followUp.request).toMatchObject({ tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }], tool_choice: 'none' })
    expect(followUp.request.messages[2]).toStrictEqual({ role: 'tool', tool_call_id: 'call_fn_1', content: 'x' })
  })

  it('answers a legacy history beside current tools as tool_calls', () => {
    const beside = convert({ messages: history, tools: [{ type: 'function', function: weather }] })
    expect(beside.answer.legacy).toBe(false)
    expect(beside.request.tools).toStrictEqual([{ type: 'function', function: weather }])
    expect(beside.request).not.toHaveProperty('tool_choice')
  })

  it('pairs each result with an unanswered call only, and refuses one with none left', () => {
    const calls = (name: string) => ({ role: 'assistant', content: null, function_call: { name, arguments: '{}' } })
    const { request } = convert({ messages: [{ role: 'user', content: 'hi' }, calls('a'), { role: 'function', name: 'b', content: '1' }, calls('c'), { role: 'function', name: 'c', content: '2' }] })
    expect(request.messages.flatMap((message) => (message.role === 'tool' ? [message.tool_call_id] : []))).toStrictEqual(['call_fn_1', 'call_fn_3'])
    const orphan = () => convert({ messages: [...history, { role: 'function', name: 'get_weather', content: 'again' }] })
    expect(orphan).toThrow('messages[3]: a function result with no assistant function_call before it')
  })

  it('refuses tools beside functions or function_call, and a malformed legacy call, with a 400', () => {
    const tool = [{ type: 'function', function: weather }]
    for (const body of [{ functions: [weather], tools: tool }, { function_call: 'auto', tools: tool }, { functions: [weather], tool_choice: 'auto' }]) {
      const both = () => convert({ ...body, messages: [{ role: 'user', content: 'hi' }] })
      expect(both).toThrow(GatewayError)
      expect(both).toThrow('not both')
    }
    expect(() => convert({ messages: [{ role: 'assistant', content: null, function_call: { name: 'f' } }] })).toThrow('messages[0].function_call')
    expect(ChatCompletionsRequest.safeParse({ model: 'a/b', messages: [{ role: 'function', content: 'x' }] }).success).toBe(false)
  })
})

describe('legacy rendering', () => {
  it("gives the answer's first tool call as function_call", () => {
    const call = (id: string) => ({ id, type: 'function' as const, function: { name: 'get_weather', arguments: '{}' } })
    expect(legacyMessage({ role: 'assistant', content: null, refusal: null, tool_calls: [call('a'), call('b')] })).toStrictEqual({
      role: 'assistant',
      content: null,
      refusal: null,
      function_call: { name: 'get_weather', arguments: '{}' },
    })
    expect(legacyMessage({ role: 'assistant', content: 'Hi', refusal: null })).toStrictEqual({ role: 'assistant', content: 'Hi', refusal: null })
  })

  it('streams the first call as function_call deltas and drops the others', () => {
    expect(legacyDelta({ tool_calls: [{ index: 0, id: 'c', type: 'function', function: { name: 'f', arguments: '' } }] })).toStrictEqual({ function_call: { name: 'f', arguments: '' } })
    expect(legacyDelta({ tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] })).toStrictEqual({ function_call: { arguments: '{"a"' } })
    expect(legacyDelta({ tool_calls: [{ index: 1, function: { arguments: '{}' } }] })).toBeNull()
    expect(legacyDelta({ content: 'x' })).toStrictEqual({ content: 'x' })
  })
})

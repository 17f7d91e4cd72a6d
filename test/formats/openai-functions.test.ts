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
      legacy: false,
    })
  })

  it('turns functions, function_call and the function role into tools, a tool call with a made id and its result', () => {
    const { request, legacy } = convert({
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
    expect(legacy).toBe(true)
    expect(request).toStrictEqual({
      model: 'a/b',
      tools: [{ type: 'function', function: weather }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
      messages: [
        { role: 'user', content: 'Weather in Oslo and Rome?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_fn_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
        { role: 'tool', tool_call_id: 'call_fn_1', content: '12C' },
        { role: 'assistant', content: 'Next.', tool_calls: [{ id: 'call_fn_3', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] },
        { role: 'tool', tool_call_id: 'call_fn_3', content: '' },
      ],
    })
  })

  it('takes "none" and "auto" as they are, and a history with legacy calls but no functions', () => {
    expect(convert({ functions: [weather], function_call: 'none', messages: [{ role: 'user', content: 'hi' }] }).request.tool_choice).toBe('none')
    const history = convert({ messages: [{ role: 'user', content: 'hi' }, { role: 'function', name: 'f', content: 'x' }] })
    expect(history.legacy).toBe(true)
    expect(history.request.messages[1]).toStrictEqual({ role: 'tool', tool_call_id: 'call_fn_1', content: 'x' })
  })

  it('refuses tools beside functions, and a malformed legacy call, with a 400', () => {
    const both = () => convert({ functions: [weather], tools: [{ type: 'function', function: weather }], messages: [{ role: 'user', content: 'hi' }] })
    expect(both).toThrow(GatewayError)
    expect(both).toThrow('either tools or the deprecated functions')
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

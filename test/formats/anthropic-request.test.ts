import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { toAnthropic } from '../../src/formats/anthropic/request'
import { ChatRequest } from '../../src/formats/openai/request'

const OPTIONS = { upstreamModel: 'claude-sonnet-4-5', maxTokens: 1024, stream: false }

function convert(request: Record<string, unknown>, options = OPTIONS) {
  return toAnthropic(ChatRequest.parse({ model: 'anthropic/claude-sonnet-4.5', ...request }), options)
}

const hi = [{ role: 'user', content: 'hi' }]
const weather = { type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }
const result = (id: string, content: string) => ({ type: 'tool_result', tool_use_id: id, content })
const call = (args: string) => ({ id: 'c', type: 'function', function: { name: 'f', arguments: args } })
const weatherTool = { name: 'get_weather', description: 'Weather now', input_schema: weather.function.parameters }

function rejection(request: Record<string, unknown>): GatewayError {
  const error = (() => {
    try {
      convert(request)
    } catch (thrown) {
      return thrown
    }
  })()
  if (error instanceof GatewayError) return error
  throw new Error(`expected a GatewayError, got ${String(error)}`)
}

describe('toAnthropic messages', () => {
  it('lifts system and developer messages into top-level system blocks, in order', () => {
    const { body } = convert({
      messages: [
        { role: 'system', content: 'Be brief.', name: 'ops' },
        { role: 'user', content: 'hi' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
      ],
    })
    expect(body).toStrictEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      stream: false,
      system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Answer in French.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
    })
    expect(convert({ messages: hi }).body).not.toHaveProperty('system')
  })

  it('merges same-role neighbours and turns tool results into one user turn', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        { role: 'user', content: 'Quickly.', name: 'ana' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'rain' }] },
        { role: 'user', content: 'Thanks' },
      ],
    })
    expect(body.messages).toStrictEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }, { type: 'text', text: 'ana: Quickly.' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          ...['Paris', 'Rome'].map((city, i) => ({ type: 'tool_use', id: `call_${i + 1}`, name: 'get_weather', input: { city } })),
        ],
      },
      { role: 'user', content: [result('call_1', 'sunny'), result('call_2', 'rain'), { type: 'text', text: 'Thanks' }] },
    ])
  })

  it.each([
    ['the first text part', [{ type: 'text', text: 'hello' }, { type: 'text', text: 'again' }], [{ type: 'text', text: 'bob: hello' }, { type: 'text', text: 'again' }]],
    ['a new text block when there is no text', [{ type: 'image_url', image_url: { url: 'https://x.test/a.png' } }], [{ type: 'text', text: 'bob:' }, { type: 'image', source: { type: 'url', url: 'https://x.test/a.png' } }]],
  ])('prefixes the name of a user message to %s', (_, content, expected) => {
    expect(convert({ messages: [{ role: 'user', name: 'bob', content }] }).body.messages).toStrictEqual([{ role: 'user', content: expected }])
  })

  it.each([
    ['a base64 data URL', 'data:image/png;base64,iVBORw0KGgo=', { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' }],
    ['an https URL', 'https://example.com/cat.jpg', { type: 'url', url: 'https://example.com/cat.jpg' }],
    ['an http URL', 'http://example.com/cat.jpg', { type: 'url', url: 'http://example.com/cat.jpg' }],
  ])('converts an image given as %s', (_, url, source) => {
    const { body } = convert({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] })
    expect(body.messages).toStrictEqual([{ role: 'user', content: [{ type: 'image', source }] }])
  })

  it.each([
    ['input_audio', { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }, /"input_audio"/],
    ['file', { type: 'file', file: { file_id: 'f1' } }, /"file"/],
    ['an ftp image', { type: 'image_url', image_url: { url: 'ftp://x.test/a.png' } }, /http\(s\) URL or a base64 data: URL/],
    ['a non-base64 data image', { type: 'image_url', image_url: { url: 'data:image/svg+xml,<svg/>' } }, /http\(s\) URL or a base64 data: URL/],
  ])('rejects a user part it cannot translate: %s', (_, part, message) => {
    const error = rejection({ messages: [{ role: 'user', content: [{ type: 'text', text: 'look' }, part] }] })
    expect(error.status).toBe(400)
    expect(error.type).toBe('invalid_request')
    expect(error.message).toMatch(message)
    expect(error.message).toContain('messages[0].content[1]')
  })

  it.each([['[1,2]'], ['"text"'], ['null'], ['{broken']])('rejects tool call arguments %s that are not a JSON object', (args) => {
    const error = rejection({ messages: [...hi, { role: 'assistant', content: null, tool_calls: [call(args)] }] })
    expect([error.status, error.type]).toEqual([400, 'invalid_request'])
    expect(error.message).toContain('messages[1]')
  })

  it('carries cache_control from OpenAI content parts onto the Anthropic blocks', () => {
    const ephemeral = { type: 'ephemeral' }
    const { body } = convert({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'long rules', cache_control: ephemeral }] },
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'https://x.test/a.png' }, cache_control: ephemeral },
            { type: 'text', text: 'doc', cache_control: { type: 'ephemeral', ttl: '1h' } },
          ],
        },
        { role: 'assistant', content: [{ type: 'text', text: 'ok', cache_control: ephemeral }], tool_calls: [call('{}')] },
        { role: 'tool', tool_call_id: 'c', content: [{ type: 'text', text: 'big result', cache_control: ephemeral }] },
      ],
    })
    expect(body.system).toStrictEqual([{ type: 'text', text: 'long rules', cache_control: ephemeral }])
    expect(body.messages).toStrictEqual([
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'url', url: 'https://x.test/a.png' }, cache_control: ephemeral },
          { type: 'text', text: 'doc', cache_control: { type: 'ephemeral', ttl: '1h' } },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'ok', cache_control: ephemeral }, { type: 'tool_use', id: 'c', name: 'f', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c', content: 'big result', cache_control: ephemeral }] },
    ])
  })
})

describe('toAnthropic parameters', () => {
  it('renames and clamps the parameters Anthropic has and drops every other one', () => {
    const { body } = convert(
      {
        messages: hi,
        stream: false,
        max_tokens: 50,
        temperature: 1.7,
        top_p: 0.9,
        top_k: 40,
        stop: 'END',
        user: 'user-42',
        seed: 7,
        frequency_penalty: 0.5,
        presence_penalty: 0.5,
        logprobs: true,
        n: 1,
        provider: { order: ['anthropic'] },
      },
      { upstreamModel: 'claude-opus-4-1', maxTokens: 8000, stream: true },
    )
    expect(body).toStrictEqual({
      model: 'claude-opus-4-1',
      max_tokens: 8000,
      stream: true,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      temperature: 1,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
    })
  })

  it('passes a stop array through as stop_sequences', () => {
    expect(convert({ messages: hi, stop: ['a', 'b'] }).body.stop_sequences).toStrictEqual(['a', 'b'])
  })
})

describe('toAnthropic tools', () => {
  it('converts tools, defaulting a missing schema to an empty object schema', () => {
    const { body, jsonTool } = convert({ messages: hi, tools: [weather, { type: 'function', function: { name: 'now' } }] })
    expect(body.tools).toStrictEqual([weatherTool, { name: 'now', input_schema: { type: 'object', properties: {} } }])
    expect(body).not.toHaveProperty('tool_choice')
    expect(jsonTool).toBeNull()
  })

  it.each([
    ['auto', undefined, { type: 'auto' }],
    ['required', undefined, { type: 'any' }],
    ['none', undefined, { type: 'none' }],
    [{ type: 'function', function: { name: 'get_weather' } }, undefined, { type: 'tool', name: 'get_weather' }],
    [undefined, false, { type: 'auto', disable_parallel_tool_use: true }],
    ['required', false, { type: 'any', disable_parallel_tool_use: true }],
    ['none', false, { type: 'none' }],
    [undefined, true, undefined],
  ])('maps tool_choice %j with parallel_tool_calls %j', (toolChoice, parallel, expected) => {
    const { body } = convert({ messages: hi, tools: [weather], tool_choice: toolChoice, parallel_tool_calls: parallel })
    expect(body.tool_choice).toStrictEqual(expected)
  })

  it('sends no tool_choice without tools', () => {
    expect(convert({ messages: hi, tool_choice: 'required', parallel_tool_calls: false }).body).not.toHaveProperty('tool_choice')
  })
})

describe('toAnthropic structured output', () => {
  const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] }
  const jsonSchema = { type: 'json_schema', json_schema: { name: 'answer', description: 'The answer', schema } }

  it('forces a json_response tool carrying the json_schema', () => {
    const { body, jsonTool } = convert({ messages: hi, response_format: jsonSchema })
    expect(jsonTool).toBe('json_response')
    expect(body.tools).toStrictEqual([{ name: 'json_response', description: 'The answer', input_schema: schema }])
    expect(body.tool_choice).toStrictEqual({ type: 'tool', name: 'json_response' })
  })

  it('forces an object schema for json_object', () => {
    const { body, jsonTool } = convert({ messages: hi, response_format: { type: 'json_object' }, parallel_tool_calls: false })
    expect(jsonTool).toBe('json_response')
    expect(body.tools).toStrictEqual([{ name: 'json_response', description: 'Give the final answer as JSON matching this schema.', input_schema: { type: 'object' } }])
    expect(body.tool_choice).toStrictEqual({ type: 'tool', name: 'json_response', disable_parallel_tool_use: true })
  })

  it('adds the tool without forcing it when the client brought its own tools or tool_choice', () => {
    const withTools = convert({ messages: hi, tools: [weather], response_format: jsonSchema })
    expect(withTools.body.tools).toStrictEqual([weatherTool, { name: 'json_response', description: 'The answer', input_schema: schema }])
    expect(withTools.body).not.toHaveProperty('tool_choice')
    expect(convert({ messages: hi, tool_choice: 'auto', response_format: { type: 'json_object' } }).body.tool_choice).toStrictEqual({ type: 'auto' })
  })

  it('picks another name when a client tool is already called json_response', () => {
    const taken = ['json_response', 'json_response_2'].map((name) => ({ type: 'function', function: { name } }))
    const { body, jsonTool } = convert({ messages: hi, tools: taken, response_format: { type: 'json_object' } })
    expect(jsonTool).toBe('json_response_3')
    expect((body.tools as Array<{ name: string }>).map((tool) => tool.name)).toStrictEqual(['json_response', 'json_response_2', 'json_response_3'])
  })

  it('returns no jsonTool for a text response_format', () => {
    const { body, jsonTool } = convert({ messages: hi, response_format: { type: 'text' } })
    expect(jsonTool).toBeNull()
    expect(body).not.toHaveProperty('tools')
  })
})

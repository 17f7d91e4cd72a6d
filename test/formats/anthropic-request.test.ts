import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { toAnthropic, type AnthropicRequestOptions } from '../../src/formats/anthropic/request'
import { ChatRequest } from '../../src/formats/openai/request'

const OPTIONS: AnthropicRequestOptions = { upstreamModel: 'claude-sonnet-4-5', maxTokens: 1024, stream: false }

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
    ['a PDF', { filename: 'report.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' }, { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'report.pdf' }],
    ['a URL', { file_data: 'https://example.com/report.pdf' }, { type: 'document', source: { type: 'url', url: 'https://example.com/report.pdf' } }],
    ['a PDF whose media type is in capitals', { file_data: 'data:Application/PDF;base64,JVBERi0=' }, { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }],
  ])('converts a file given as %s to a document', (_, file, block) => {
    const { body } = convert({ messages: [{ role: 'user', content: [{ type: 'file', file }] }] })
    expect(body.messages).toStrictEqual([{ role: 'user', content: [block] }])
  })

  it.each([
    ['a PDF data URL', 'data:application/pdf;base64,JVBERi0=', { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }],
    ['a PDF data URL with parameters', 'data:Application/PDF;name=a.pdf;base64,JVBERi0=', { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }],
    ['a URL to a PDF', 'https://example.com/files/report.PDF?download=1', { type: 'document', source: { type: 'url', url: 'https://example.com/files/report.PDF?download=1' } }],
    ['a URL with .pdf only in its query', 'https://example.com/thumb.png?of=report.pdf', { type: 'image', source: { type: 'url', url: 'https://example.com/thumb.png?of=report.pdf' } }],
  ])('converts an image_url holding %s by what it holds', (_, url, block) => {
    const { body } = convert({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] })
    expect(body.messages).toStrictEqual([{ role: 'user', content: [block] }])
  })

  it.each([
    ['input_audio', { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }, /"input_audio"/],
    ['a file without its data', { type: 'file', file: { filename: 'a.pdf' } }, /PDF base64 data: URL or an http\(s\) URL/],
    ['a file that is not a PDF', { type: 'file', file: { file_data: 'data:text/csv;base64,YSxi' } }, /PDF base64 data: URL/],
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
      top_k: 40,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
    })
  })

  it('sends temperature or top_p, not both, which Claude since Sonnet 4.5 refuses: the temperature is kept', () => {
    expect(convert({ messages: hi, temperature: 0.7, top_p: 1 }).body).toMatchObject({ temperature: 0.7 })
    expect(convert({ messages: hi, temperature: 0.7, top_p: 1 }).body).not.toHaveProperty('top_p')
    expect(convert({ messages: hi, top_p: 0.8 }).body).toMatchObject({ top_p: 0.8 })
    expect(convert({ messages: hi, temperature: null, top_p: 0.8 }).body).toMatchObject({ top_p: 0.8 })
  })

  it('passes a stop array through as stop_sequences', () => {
    expect(convert({ messages: hi, stop: ['a', 'b'] }).body.stop_sequences).toStrictEqual(['a', 'b'])
  })

  it('leaves out whitespace-only stop sequences, which Claude refuses, and sends none when none is left', () => {
    expect(convert({ messages: hi, stop: ['\n', 'END', ' \t'] }).body.stop_sequences).toStrictEqual(['END'])
    expect(convert({ messages: hi, stop: '\n\n' }).body).not.toHaveProperty('stop_sequences')
    expect(convert({ messages: hi, stop: [' x '] }).body.stop_sequences).toStrictEqual([' x '])
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

  it('declares the tools a history of calls used when the request declares none (Anthropic refuses tool_use blocks without tools), none to be called', () => {
    const history = [
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '12 C' },
      { role: 'user', content: 'Summarise this in one line.' },
    ]
    const { body } = convert({ messages: history })
    expect(body.tools).toStrictEqual([{ name: 'get_weather', input_schema: { type: 'object' } }])
    expect(body.tool_choice).toStrictEqual({ type: 'none' })
    expect(convert({ messages: history, tools: [weather] }).body).not.toHaveProperty('tool_choice')
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
    // One call: Claude may call even a forced tool twice otherwise.
    expect(body.tool_choice).toStrictEqual({ type: 'tool', name: 'json_response', disable_parallel_tool_use: true })
  })

  it('forces an object schema for json_object', () => {
    const { body, jsonTool } = convert({ messages: hi, response_format: { type: 'json_object' }, parallel_tool_calls: false })
    expect(jsonTool).toBe('json_response')
    expect(body.tools).toStrictEqual([{ name: 'json_response', description: 'Give the final answer as JSON matching this schema.', input_schema: { type: 'object' } }])
    expect(body.tool_choice).toStrictEqual({ type: 'tool', name: 'json_response', disable_parallel_tool_use: true })
  })

  it('adds the tool without forcing it when the client brought tools of its own to call', () => {
    const withTools = convert({ messages: hi, tools: [weather], response_format: jsonSchema })
    expect(withTools.body.tools).toStrictEqual([weatherTool, { name: 'json_response', description: 'The answer', input_schema: schema }])
    expect(withTools.body).not.toHaveProperty('tool_choice')
    expect(convert({ messages: hi, tools: [weather], tool_choice: 'auto', response_format: jsonSchema }).body.tool_choice).toStrictEqual({ type: 'auto' })
  })

  it('forces the tool when the model may call no tool of the client’s: none declared, or tool_choice "none"', () => {
    const forced = { type: 'tool', name: 'json_response', disable_parallel_tool_use: true }
    expect(convert({ messages: hi, tool_choice: 'auto', response_format: { type: 'json_object' } }).body.tool_choice).toStrictEqual(forced)
    const none = convert({ messages: hi, tools: [weather], tool_choice: 'none', response_format: jsonSchema }).body
    expect(none.tool_choice).toStrictEqual(forced)
    expect((none.tools as Array<{ name: string }>).map((tool) => tool.name)).toStrictEqual(['get_weather', 'json_response'])
  })

  it('declares no JSON tool when tool_choice makes the turn call the client’s tools ("required" or one named), as OpenAI does', () => {
    for (const choice of ['required', { type: 'function', function: { name: 'get_weather' } }]) {
      const { body, jsonTool } = convert({ messages: hi, tools: [weather], tool_choice: choice, response_format: jsonSchema })
      expect(jsonTool).toBeNull()
      expect((body.tools as Array<{ name: string }>).map((tool) => tool.name)).toStrictEqual(['get_weather'])
    }
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

describe('toAnthropic thinking', () => {
  const wide: AnthropicRequestOptions = { upstreamModel: 'claude-sonnet-4-5', maxTokens: 10000, maxTokensCap: 64000, stream: false }
  const thinking = (request: Record<string, unknown>, options = wide) => {
    const { body } = convert({ messages: hi, ...request }, options)
    return { thinking: body.thinking, max_tokens: body.max_tokens }
  }
  const enabled = (budget_tokens: number, max_tokens = 10000) => ({ thinking: { type: 'enabled', budget_tokens }, max_tokens })

  it.each([
    ['effort max (95%)', { reasoning: { effort: 'max' } }, enabled(9500)],
    ['effort xhigh (95%)', { reasoning: { effort: 'xhigh' } }, enabled(9500)],
    ['effort high (80%)', { reasoning: { effort: 'high' } }, enabled(8000)],
    ['effort medium (50%)', { reasoning: { effort: 'medium' } }, enabled(5000)],
    ['effort low (20%)', { reasoning: { effort: 'low' } }, enabled(2000)],
    ['effort minimal (10%, raised to the 1024 floor)', { reasoning: { effort: 'minimal' } }, enabled(1024)],
    ['enabled alone (medium)', { reasoning: { enabled: true } }, enabled(5000)],
    ['top-level reasoning_effort', { reasoning_effort: 'low' }, enabled(2000)],
    ['reasoning.max_tokens as the budget', { reasoning: { max_tokens: 3000, effort: 'low' } }, enabled(3000)],
    ['a budget below the floor', { reasoning: { max_tokens: 500 } }, enabled(1024)],
    ['exclude with an effort (still thinks; its text omitted, which is faster)', { reasoning: { effort: 'high', exclude: true } }, { ...enabled(8000), thinking: { type: 'enabled', budget_tokens: 8000, display: 'omitted' } }],
    ["the client's display, omitted", { reasoning: { effort: 'high', display: 'omitted' } }, { ...enabled(8000), thinking: { type: 'enabled', budget_tokens: 8000, display: 'omitted' } }],
    ["the client's display, summarized (this model's default: not sent)", { reasoning: { effort: 'high', display: 'summarized' } }, enabled(8000)],
    ['a display that is no string (ignored, the rest of reasoning kept)', { reasoning: { effort: 'high', display: 7 } }, enabled(8000)],
    ['no reasoning', {}, { thinking: undefined, max_tokens: 10000 }],
    ['effort none', { reasoning: { effort: 'none' }, reasoning_effort: 'high' }, { thinking: undefined, max_tokens: 10000 }],
    ['enabled false', { reasoning: { enabled: false, max_tokens: 4000 } }, { thinking: undefined, max_tokens: 10000 }],
    ['a zero budget', { reasoning: { max_tokens: 0 } }, { thinking: undefined, max_tokens: 10000 }],
    ['a malformed reasoning object', { reasoning: { effort: 'extreme' } }, { thinking: undefined, max_tokens: 10000 }],
  ])('maps %s', (_, request, expected) => {
    expect(thinking(request)).toStrictEqual(expected)
  })

  it.each([
    ['raises max_tokens over a floor budget', { ...wide, maxTokens: 300 }, { effort: 'high' }, enabled(1024, 1324)],
    ['raises max_tokens over an explicit budget', { ...wide, maxTokens: 4096 }, { max_tokens: 8000 }, enabled(8000, 12096)],
    ['shrinks the budget at the endpoint cap', { ...wide, maxTokens: 4096, maxTokensCap: 4096 }, { max_tokens: 8000 }, enabled(3891, 4096)],
    ['stops at the 128k budget ceiling', { ...wide, maxTokens: 200000, maxTokensCap: 200000 }, { max_tokens: 500000 }, enabled(128000, 200000)],
    ['sends no thinking when no budget fits (no cap given)', { upstreamModel: 'claude-sonnet-4-5', maxTokens: 300, stream: false }, { effort: 'high' }, { thinking: undefined, max_tokens: 300 }],
    ['never raises a max_tokens that bounds the reasoning too (no budget fits under 300)', { ...wide, maxTokens: 300 }, { effort: 'high', within_max_tokens: true }, { thinking: undefined, max_tokens: 300 }],
    ['keeps the floor budget under a bounding max_tokens just above it', { ...wide, maxTokens: 1050 }, { effort: 'high', within_max_tokens: true }, enabled(1024, 1050)],
    ['fits an explicit budget under a bounding max_tokens', { ...wide, maxTokens: 4096 }, { max_tokens: 8000, within_max_tokens: true }, enabled(3891, 4096)],
    ['leaves a bounded budget that fits as it is', { ...wide, maxTokens: 2000 }, { effort: 'low', within_max_tokens: true }, enabled(1024, 2000)],
  ])('%s', (_, options, reasoning, expected) => {
    expect(thinking({ reasoning }, options)).toStrictEqual(expected)
  })

  it('drops temperature and top_k and raises top_p into [0.95, 1]', () => {
    const { body } = convert({ messages: hi, reasoning: { effort: 'low' }, temperature: 0.2, top_k: 5, top_p: 0.5 }, wide)
    expect(body).not.toHaveProperty('temperature')
    expect(body).not.toHaveProperty('top_k')
    expect(body.top_p).toBe(0.95)
    expect(convert({ messages: hi, reasoning: { effort: 'low' }, top_p: 0.98 }, wide).body.top_p).toBe(0.98)
  })

  it('returns excludeReasoning for reasoning.exclude and the deprecated include_reasoning: false', () => {
    expect(convert({ messages: hi, reasoning: { exclude: true } }).excludeReasoning).toBe(true)
    expect(convert({ messages: hi, include_reasoning: false }).excludeReasoning).toBe(true)
    expect(convert({ messages: hi, reasoning: { effort: 'low' } }).excludeReasoning).toBe(false)
  })

  const loop = (assistant: Record<string, unknown>) => [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }], ...assistant },
    { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
  ]
  const signed = [{ type: 'reasoning.text', text: 'Use the tool.', signature: 'sig_1', format: 'anthropic-claude-v1', index: 0 }]

  it.each([
    ['tool_choice required', { messages: hi, tools: [weather], tool_choice: 'required' }],
    ['a named tool_choice', { messages: hi, tools: [weather], tool_choice: { type: 'function', function: { name: 'get_weather' } } }],
    ['the forced structured-output tool', { messages: hi, response_format: { type: 'json_object' } }],
    ['an assistant prefill', { messages: [...hi, { role: 'assistant', content: '{"answer":' }] }],
    ['a tool loop whose assistant turn lost its thinking', { messages: loop({}), tools: [weather] }],
  ])('sends no thinking with %s', (_, request) => {
    expect(convert({ ...request, reasoning: { effort: 'high' } }, wide).body).not.toHaveProperty('thinking')
  })

  it('keeps thinking in a tool loop whose assistant turn carries its reasoning_details', () => {
    const { body } = convert({ messages: loop({ reasoning_details: signed }), tools: [weather], reasoning: { effort: 'high' } }, wide)
    expect(body.thinking).toStrictEqual({ type: 'enabled', budget_tokens: 8000 })
    expect(body.tool_choice).toBeUndefined()
  })

  it.each([
    // Their thinking is omitted by default: it is asked for summarized, as the client asked for reasoning.
    ['effort high', { effort: 'high' }, { thinking: { type: 'adaptive', display: 'summarized' }, output_config: { effort: 'high' } }],
    ['effort minimal (as low)', { effort: 'minimal' }, { thinking: { type: 'adaptive', display: 'summarized' }, output_config: { effort: 'low' } }],
    ['enabled alone (the model default effort)', { enabled: true }, { thinking: { type: 'adaptive', display: 'summarized' }, output_config: undefined }],
    ['reasoning.max_tokens (no budget there)', { max_tokens: 4000 }, { thinking: { type: 'adaptive', display: 'summarized' }, output_config: undefined }],
    ['exclude (omitted, their default: not sent)', { effort: 'low', exclude: true }, { thinking: { type: 'adaptive' }, output_config: { effort: 'low' } }],
    ["the client's display, omitted", { enabled: true, display: 'omitted' }, { thinking: { type: 'adaptive' }, output_config: undefined }],
    ['no display from /v1/messages (null: the model default)', { enabled: true, display: null }, { thinking: { type: 'adaptive' }, output_config: undefined }],
    ["a newer display (a beta's), as sent", { enabled: true, display: 'updates' }, { thinking: { type: 'adaptive', display: 'updates' }, output_config: undefined }],
    ['effort none', { effort: 'none' }, { thinking: { type: 'disabled' }, output_config: undefined }],
  ])('uses adaptive thinking on adaptive-only models: %s', (_, reasoning, expected) => {
    const { body } = convert({ messages: hi, reasoning, top_p: 0.9 }, { ...wide, upstreamModel: 'claude-sonnet-5-5' })
    expect({ thinking: body.thinking, output_config: body.output_config }).toStrictEqual(expected)
    expect(body.max_tokens).toBe(10000)
    if (expected.thinking.type === 'adaptive') expect(body).not.toHaveProperty('top_p')
  })

  it.each([
    ['an effort: adaptive, with it', { effort: 'medium' }, { thinking: { type: 'adaptive' }, output_config: { effort: 'medium' } }],
    ['enabled alone: adaptive, the model’s effort', { enabled: true }, { thinking: { type: 'adaptive' }, output_config: undefined }],
    ['a budget of its own: the budget', { max_tokens: 4000 }, { thinking: { type: 'enabled', budget_tokens: 4000 }, output_config: undefined }],
    ['off: nothing (it thinks only when asked)', { effort: 'none' }, { thinking: undefined, output_config: undefined }],
  ])('gives Opus and Sonnet 4.6, which take adaptive thinking and deprecate budgets, %s', (_, reasoning, expected) => {
    for (const upstreamModel of ['claude-opus-4-6', 'claude-sonnet-4-6']) {
      const { body } = convert({ messages: hi, reasoning }, { ...wide, upstreamModel })
      expect({ thinking: body.thinking, output_config: body.output_config }).toStrictEqual(expected)
    }
  })

  it('sends Claude 3.7 no display: it returns its whole thinking, with none to choose', () => {
    const { body } = convert({ messages: hi, reasoning: { effort: 'high', exclude: true } }, { ...wide, upstreamModel: 'claude-3-7-sonnet-20250219' })
    expect(body.thinking).toStrictEqual({ type: 'enabled', budget_tokens: 8000 })
  })

  it.each([
    ['claude-opus-4-8', 'max', 'max'],
    ['claude-opus-4-8', 'low', 'low'],
    ['claude-sonnet-4-6', 'xhigh', 'high'],
    ['claude-sonnet-4-6', 'max', 'max'],
    ['claude-opus-4-5-20251101', 'max', 'high'],
    ['claude-haiku-5-5', 'xhigh', 'high'],
    ['claude-mythos-preview', 'xhigh', 'high'],
    ['claude-sonnet-4-5', 'low', undefined],
    ['claude-haiku-4-5', 'medium', undefined],
  ])("sends OpenRouter's verbosity to %s as effort %s → %s, the nearest level it takes (none where it takes none)", (upstreamModel, verbosity, effort) => {
    const { body } = convert({ messages: hi, verbosity }, { ...wide, upstreamModel })
    expect(body.output_config).toStrictEqual(effort ? { effort } : undefined)
    expect(body).not.toHaveProperty('verbosity')
    expect(body).not.toHaveProperty('thinking')
  })

  it("lets thinking's own effort win over verbosity, and carries verbosity beside a budget", () => {
    const adaptive = convert({ messages: hi, reasoning: { effort: 'low' }, verbosity: 'max' }, { ...wide, upstreamModel: 'claude-opus-4-8' }).body
    expect(adaptive.output_config).toStrictEqual({ effort: 'low' })
    const budget = convert({ messages: hi, reasoning: { max_tokens: 2048 }, verbosity: 'medium' }, { ...wide, upstreamModel: 'claude-opus-4-6' }).body
    expect(budget).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2048 }, output_config: { effort: 'medium' } })
    expect(convert({ messages: hi, verbosity: 'loud' }, { ...wide, upstreamModel: 'claude-opus-4-8' }).body).not.toHaveProperty('output_config')
  })
})

describe('toAnthropic reasoning_details round trip', () => {
  it('puts thinking and redacted_thinking blocks before the text and tool_use blocks, skipping what Claude cannot verify', () => {
    const { body } = convert({
      messages: [
        ...hi,
        {
          role: 'assistant',
          content: 'Checking.',
          reasoning: 'Need the weather. (redacted)',
          reasoning_details: [
            { type: 'reasoning.text', text: 'Need the weather.', signature: 'EqQBCgIYAh', format: 'anthropic-claude-v1', index: 0 },
            { type: 'reasoning.encrypted', data: 'EmwKAhgB', format: 'anthropic-claude-v1', index: 1 },
            { type: 'reasoning.summary', summary: 'Weather lookup', format: 'anthropic-claude-v1', index: 2 },
            { type: 'reasoning.text', text: 'Unsigned.', signature: null, format: 'anthropic-claude-v1', index: 3 },
            { type: 'reasoning.encrypted', id: 'call_g', data: 'gemini-sig', format: 'google-gemini-v1', index: 0 },
            { type: 'reasoning.text', text: 'Legacy, no format.', signature: 'EqQBlegacy' },
            'garbage',
          ],
          tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
      ],
    })
    expect(body.messages).toStrictEqual([
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Need the weather.', signature: 'EqQBCgIYAh' },
          { type: 'redacted_thinking', data: 'EmwKAhgB' },
          { type: 'thinking', thinking: 'Legacy, no format.', signature: 'EqQBlegacy' },
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      { role: 'user', content: [result('toolu_1', 'sunny')] },
    ])
  })

  it('joins the streamed fragments of one block that a client sent back unmerged', () => {
    const fragment = (fields: Record<string, unknown>) => ({ type: 'reasoning.text', format: 'anthropic-claude-v1', index: 0, ...fields })
    const { body } = convert({
      messages: [
        ...hi,
        { role: 'assistant', content: 'Hi.', reasoning_details: [fragment({ text: 'Say ' }), fragment({ text: 'hi.' }), fragment({ signature: 'sig' })] },
        { role: 'user', content: 'Again' },
      ],
    })
    expect((body.messages as Array<{ content: unknown[] }>)[1]!.content[0]).toStrictEqual({ type: 'thinking', thinking: 'Say hi.', signature: 'sig' })
  })

  it('gives no thinking back to Claude 3.5 and older, which refuse thinking blocks', () => {
    const messages = [...hi, { role: 'assistant', content: 'Hi.', reasoning_details: [{ type: 'reasoning.text', text: 'Say hi.', signature: 'sig', format: 'anthropic-claude-v1', index: 0 }] }, { role: 'user', content: 'Again' }]
    for (const upstreamModel of ['claude-3-5-sonnet-20241022', 'claude-3-haiku-20240307']) {
      const { body } = convert({ messages }, { ...OPTIONS, upstreamModel })
      expect((body.messages as Array<{ content: unknown[] }>)[1]!.content).toStrictEqual([{ type: 'text', text: 'Hi.' }])
    }
  })

  it('keeps thinking first when an assistant name has no text to prefix', () => {
    const { body } = convert({
      messages: [...hi, { role: 'assistant', name: 'bot', content: null, reasoning_details: [{ type: 'reasoning.encrypted', data: 'x' }], tool_calls: [call('{}')] }],
    })
    expect((body.messages as Array<{ content: Array<{ type: string }> }>)[1]!.content.map((block) => block.type)).toStrictEqual(['redacted_thinking', 'text', 'tool_use'])
  })
})

describe('toAnthropic cache_control', () => {
  it('marks tool definitions given a marker on the tool or its function', () => {
    const { body } = convert({
      messages: hi,
      tools: [
        { ...weather, cache_control: { type: 'ephemeral', ttl: '1h' } },
        { type: 'function', function: { name: 'now', cache_control: { type: 'ephemeral' } } },
      ],
    })
    expect(body.tools).toStrictEqual([
      { ...weatherTool, cache_control: { type: 'ephemeral', ttl: '1h' } },
      { name: 'now', input_schema: { type: 'object', properties: {} }, cache_control: { type: 'ephemeral' } },
    ])
  })

  it.each([
    ['with a ttl', { type: 'ephemeral', ttl: '1h' }, { type: 'ephemeral', ttl: '1h' }],
    ['without a ttl, extra fields stripped', { type: 'ephemeral', scope: 'x' }, { type: 'ephemeral' }],
    ['malformed', 'ephemeral', undefined],
  ])('sends OpenRouter top-level cache_control as Anthropic automatic caching: %s', (_, marker, expected) => {
    expect(convert({ messages: hi, cache_control: marker }).body.cache_control).toStrictEqual(expected)
  })

  it('strips fields Anthropic does not accept from per-part markers and drops malformed ones', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'a', cache_control: { type: 'ephemeral', note: 'x' } }, { type: 'text', text: 'b', cache_control: true }] },
      ],
    })
    expect(body.messages).toStrictEqual([{ role: 'user', content: [{ type: 'text', text: 'a', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'b' }] }])
  })
})

describe('a chat of a system prompt alone', () => {
  it('gets a user turn, as Anthropic takes no empty conversation', () => {
    expect(convert({ model: 'm', messages: [{ role: 'system', content: 'Summarise the rules of chess.' }] }).body).toMatchObject({
      system: [{ type: 'text', text: 'Summarise the rules of chess.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: '.' }] }],
    })
  })
})

import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { toGemini } from '../../src/formats/gemini/request'
import { ChatRequest } from '../../src/formats/openai/request'

function convert(request: Record<string, unknown>, options: { maxOutputTokens?: number } = {}) {
  return toGemini(ChatRequest.parse({ model: 'google/gemini-3.8-flash', ...request }), options)
}

const hi = [{ role: 'user', content: 'hi' }]
const call = (id: string, name: string, args: string) => ({ id, type: 'function', function: { name, arguments: args } })
const weather = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
}

function rejection(request: Record<string, unknown>): GatewayError {
  try {
    convert(request)
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

describe('toGemini messages', () => {
  it('lifts system and developer messages into systemInstruction and maps roles to user/model', () => {
    const body = convert({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: [{ type: 'text', text: 'Why?' }], name: 'ana' },
      ],
    })
    expect(body).toStrictEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'hi' }] },
        { role: 'model', parts: [{ text: 'Hello!' }] },
        { role: 'user', parts: [{ text: 'ana: Why?' }] },
      ],
    })
    expect(convert({ messages: hi })).not.toHaveProperty('systemInstruction')
  })

  it('sends tool calls as functionCall parts and results as functionResponse parts named after their call (a failed one under error)', () => {
    const body = convert({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        { role: 'assistant', content: 'Checking.', tool_calls: [call('c1', 'get_weather', '{"city":"Paris"}'), call('c2', 'get_time', '')] },
        { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
        { role: 'tool', tool_call_id: 'c2', content: [{ type: 'text', text: '14:00' }], is_error: true },
        { role: 'user', content: 'Thanks' },
      ],
    })
    expect(body.contents).toStrictEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'model',
        parts: [
          { text: 'Checking.' },
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'skip_thought_signature_validator' },
          { functionCall: { name: 'get_time', args: {} } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { content: 'sunny' } } },
          { functionResponse: { name: 'get_time', response: { error: '14:00' } } },
          { text: 'Thanks' },
        ],
      },
    ])
  })

  it("puts a tool result's images after the run of results (a function response holds text)", () => {
    const body = convert({
      messages: [
        { role: 'user', content: 'Show both charts' },
        { role: 'assistant', content: null, tool_calls: [call('c1', 'chart', '{}'), call('c2', 'chart', '{}')] },
        { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: 'first' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
        { role: 'tool', tool_call_id: 'c2', content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,BBBB' } }] },
        { role: 'assistant', content: 'Two charts.' },
      ],
    })
    expect(body.contents).toStrictEqual([
      { role: 'user', parts: [{ text: 'Show both charts' }] },
      { role: 'model', parts: [{ functionCall: { name: 'chart', args: {} }, thoughtSignature: 'skip_thought_signature_validator' }, { functionCall: { name: 'chart', args: {} } }] },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'chart', response: { content: 'first' } } },
          { functionResponse: { name: 'chart', response: { content: '' } } },
          { inlineData: { mimeType: 'image/png', data: 'AAAA' } },
          { inlineData: { mimeType: 'image/jpeg', data: 'BBBB' } },
        ],
      },
      { role: 'model', parts: [{ text: 'Two charts.' }] },
    ])
  })

  it('replays thought signatures kept in reasoning_details and uses the stand-in only when none survive', () => {
    const signed = convert({
      messages: [
        ...hi,
        {
          role: 'assistant',
          content: null,
          tool_calls: [call('c1', 'f', '{}'), call('c2', 'f', '{}')],
          reasoning_details: [
            { type: 'reasoning.text', text: 'thinking' },
            { type: 'reasoning.encrypted', id: 'c1', data: 'SIG-1', format: 'google-gemini-v1', index: 0 },
          ],
        },
      ],
    })
    expect(signed.contents).toContainEqual({
      role: 'model',
      parts: [{ functionCall: { name: 'f', args: {} }, thoughtSignature: 'SIG-1' }, { functionCall: { name: 'f', args: {} } }],
    })
    const malformed = convert({ messages: [...hi, { role: 'assistant', content: null, tool_calls: [call('c1', 'f', '{}')], reasoning_details: 'junk' }] })
    expect(malformed.contents).toContainEqual({ role: 'model', parts: [{ functionCall: { name: 'f', args: {} }, thoughtSignature: 'skip_thought_signature_validator' }] })
  })

  it.each([
    ['a base64 data URL', 'data:image/png;base64,iVBORw0KGgo=', { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }],
    ['an https .jpg URL', 'https://example.com/cat.JPG?size=2', { fileData: { fileUri: 'https://example.com/cat.JPG?size=2', mimeType: 'image/jpeg' } }],
    ['an http .webp URL', 'http://example.com/a.webp#x', { fileData: { fileUri: 'http://example.com/a.webp#x', mimeType: 'image/webp' } }],
    ['a .pdf URL', 'https://example.com/paper.pdf', { fileData: { fileUri: 'https://example.com/paper.pdf', mimeType: 'application/pdf' } }],
    ['a URL without extension (image/jpeg assumed)', 'https://example.com/photo?id=3', { fileData: { fileUri: 'https://example.com/photo?id=3', mimeType: 'image/jpeg' } }],
  ])('converts an image given as %s', (_, url, part) => {
    expect(convert({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] }).contents).toStrictEqual([{ role: 'user', parts: [part] }])
  })

  it('sends audio and file data inline', () => {
    const body = convert({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
            { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
          ],
        },
      ],
    })
    expect(body.contents).toStrictEqual([
      { role: 'user', parts: [{ inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } }, { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } }] },
    ])
  })

  it.each([
    ['an ftp image', { role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x.test/a.png' } }] }, /http\(s\) URL or a base64 data: URL/],
    ['a file without its data', { role: 'user', content: [{ type: 'file', file: { filename: 'a.pdf' } }] }, /file\.file_data/],
    ['an unknown audio format', { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'opus' } }] }, /"opus"/],
    ['a tool result without a matching call', { role: 'tool', tool_call_id: 'nope', content: 'x' }, /"nope" matches no earlier assistant tool call/],
    ['non-object tool arguments', { role: 'assistant', content: null, tool_calls: [call('c', 'f', '[1]')] }, /must be a JSON object/],
  ])('rejects %s with a 400', (_, message, pattern) => {
    const error = rejection({ messages: [...hi, message] })
    expect([error.status, error.type]).toEqual([400, 'invalid_request'])
    expect(error.message).toMatch(pattern)
    expect(error.message).toContain('messages[1]')
  })
})

describe('toGemini tools', () => {
  it('declares functions, narrowing JSON Schema to the fields of Gemini Schema', () => {
    const parameters = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      additionalProperties: false,
      properties: {
        city: { type: 'string', description: 'City', minLength: 1 },
        unit: { type: ['string', 'null'], enum: ['c', 'f'] },
        days: { type: 'array', items: { type: 'integer', exclusiveMinimum: 0 }, maxItems: 7 },
        where: { oneOf: [{ type: 'string' }, { type: 'object', properties: { lat: { type: 'number' } }, additionalProperties: false }] },
        kind: { const: 'forecast' },
      },
      required: ['city'],
    }
    const body = convert({ messages: hi, tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters, strict: true } }] })
    expect(body.tools).toStrictEqual([
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'Weather',
            parameters: {
              type: 'object',
              properties: {
                city: { type: 'string', description: 'City', minLength: 1 },
                unit: { nullable: true, type: 'string', enum: ['c', 'f'] },
                days: { type: 'array', items: { type: 'integer' }, maxItems: 7 },
                where: { anyOf: [{ type: 'string' }, { type: 'object', properties: { lat: { type: 'number' } } }] },
                kind: { type: 'string', enum: ['forecast'] },
              },
              required: ['city'],
            },
          },
        ],
      },
    ])
    expect(body).not.toHaveProperty('toolConfig')
  })

  it('declares a function without arguments with no parameters at all', () => {
    const body = convert({ messages: hi, tools: [{ type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } }, { type: 'function', function: { name: 'ping' } }] })
    expect(body.tools).toStrictEqual([{ functionDeclarations: [{ name: 'now' }, { name: 'ping' }] }])
  })

  it.each([
    ['auto', { mode: 'AUTO' }],
    ['required', { mode: 'ANY' }],
    ['none', { mode: 'NONE' }],
    [{ type: 'function', function: { name: 'get_weather' } }, { mode: 'ANY', allowedFunctionNames: ['get_weather'] }],
  ])('maps tool_choice %j to functionCallingConfig %j', (choice, config) => {
    expect(convert({ messages: hi, tools: [weather], tool_choice: choice }).toolConfig).toStrictEqual({ functionCallingConfig: config })
  })

  it('sends neither tools nor toolConfig without tools', () => {
    const body = convert({ messages: hi, tool_choice: 'required', parallel_tool_calls: false })
    expect(body).not.toHaveProperty('tools')
    expect(body).not.toHaveProperty('toolConfig')
  })
})

describe('toGemini media types', () => {
  it('sends an image/jpg data URL (which OpenAI takes) as image/jpeg, the only JPEG type Gemini takes', () => {
    const body = toGemini(
      ChatRequest.parse({
        model: 'google/gemini-2.5-flash',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:IMAGE/JPG;base64,/9j/4AAQSkZJRg==' } }] }],
      }),
    )
    expect(body.contents).toStrictEqual([{ role: 'user', parts: [{ text: 'What is this?' }, { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQSkZJRg==' } }] }])
  })
})

describe('a chat of a system prompt alone', () => {
  it('gets a user turn, as Gemini takes no empty contents', () => {
    expect(convert({ model: 'm', messages: [{ role: 'system', content: 'Summarise the rules of chess.' }] })).toMatchObject({
      systemInstruction: { parts: [{ text: 'Summarise the rules of chess.' }] },
      contents: [{ role: 'user', parts: [{ text: '.' }] }],
    })
  })
})

import { describe, expect, it } from 'vitest'
import { fromAnthropicRequest, MessagesRequest } from '../../src/formats/anthropic/ingress-request'
import { ChatRequest } from '../../src/formats/openai/request'

const base = { model: 'test/chat', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }
const convert = (body: object) => fromAnthropicRequest(MessagesRequest.parse({ ...base, ...body }))
const ephemeral = { type: 'ephemeral' }

describe('fromAnthropicRequest', () => {
  it('does not turn thinking on for output_config.effort alone (Anthropic does not): it is carried as verbosity', () => {
    const chat = convert({ output_config: { effort: 'max' } })
    expect(chat).not.toHaveProperty('reasoning')
    expect(chat.verbosity).toBe('max')
  })

  const cases: Array<{ name: string; body: object; expected: Record<string, unknown> }> = [
    {
      name: 'a plain request: model, max_tokens, stream off by default',
      body: {},
      expected: { model: 'test/chat', max_tokens: 100, stream: false, messages: [{ role: 'user', content: 'hi' }] },
    },
    {
      name: 'a string system prompt becomes the first message',
      body: { system: 'Be terse.' },
      expected: { messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'hi' }] },
    },
    {
      name: 'system blocks keep cache_control on their parts',
      body: { system: [{ type: 'text', text: 'Long rules', cache_control: ephemeral }, { type: 'text', text: 'More' }] },
      expected: {
        messages: [
          { role: 'system', content: [{ type: 'text', text: 'Long rules', cache_control: ephemeral }, { type: 'text', text: 'More' }] },
          { role: 'user', content: 'hi' },
        ],
      },
    },
    {
      name: 'sampling parameters, stop sequences and the end user',
      body: { temperature: 0.3, top_p: 0.9, top_k: 40, stop_sequences: ['END', 'STOP'], metadata: { user_id: 'u-1' }, stream: true },
      expected: { temperature: 0.3, top_p: 0.9, top_k: 40, stop: ['END', 'STOP'], user: 'u-1', stream: true },
    },
    {
      name: 'tools with input_schema become functions',
      body: { tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }] },
      expected: {
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      },
    },
    {
      name: "a tool's cache_control stays on it (Claude Code marks its last tool)",
      body: { tools: [{ name: 'f', input_schema: { type: 'object' } }, { name: 'g', input_schema: { type: 'object' }, cache_control: ephemeral }] },
      expected: {
        tools: [
          { type: 'function', function: { name: 'f', parameters: { type: 'object' } } },
          { type: 'function', function: { name: 'g', parameters: { type: 'object' } }, cache_control: ephemeral },
        ],
      },
    },
    { name: 'tool_choice auto', body: { tool_choice: { type: 'auto' } }, expected: { tool_choice: 'auto' } },
    { name: 'tool_choice any → required', body: { tool_choice: { type: 'any' } }, expected: { tool_choice: 'required' } },
    { name: 'tool_choice none', body: { tool_choice: { type: 'none' } }, expected: { tool_choice: 'none' } },
    {
      name: 'tool_choice tool, without parallel calls',
      body: { tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true } },
      expected: { tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false },
    },
    { name: 'thinking with a budget → reasoning.max_tokens', body: { thinking: { type: 'enabled', budget_tokens: 2048 } }, expected: { reasoning: { max_tokens: 2048, display: null } } },
    {
      name: "thinking's display → reasoning.display, for either kind",
      body: { thinking: { type: 'adaptive', display: 'summarized' }, output_config: { effort: 'high' } },
      expected: { reasoning: { enabled: true, effort: 'high', display: 'summarized' } },
    },
    {
      name: 'a display Meridian does not know (a beta\'s `updates`) passes on as sent',
      body: { thinking: { type: 'adaptive', display: 'updates' } },
      expected: { reasoning: { enabled: true, display: 'updates' } },
    },
    { name: 'a budget with display omitted', body: { thinking: { type: 'enabled', budget_tokens: 2048, display: 'omitted' } }, expected: { reasoning: { max_tokens: 2048, display: 'omitted' } } },
    { name: 'thinking disabled → reasoning turned off, said rather than left unsaid', body: { thinking: { type: 'disabled' } }, expected: { reasoning: { enabled: false } } },
    { name: 'adaptive thinking with output_config.effort → reasoning at that effort', body: { thinking: { type: 'adaptive' }, output_config: { effort: 'low' } }, expected: { reasoning: { enabled: true, effort: 'low', display: null } } },
    {
      name: 'an effort beside a budget → the budget, and the effort as verbosity',
      body: { thinking: { type: 'enabled', budget_tokens: 2048 }, output_config: { effort: 'high' } },
      expected: { reasoning: { max_tokens: 2048, display: null }, verbosity: 'high' },
    },
    {
      name: 'output_config.format (structured outputs) → response_format json_schema',
      body: { output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'string' } } } } } },
      expected: { response_format: { type: 'json_schema', json_schema: { name: 'output', schema: { type: 'object', properties: { a: { type: 'string' } } } } } },
    },
    { name: "OpenRouter's preset field passes on", body: { preset: 'coding' }, expected: { preset: 'coding' } },
    { name: 'gateway extras pass through', body: { models: ['test/other'], provider: { order: ['alpha'] } }, expected: { models: ['test/other'], provider: { order: ['alpha'] } } },
    { name: "OpenRouter's fallbacks are the models after model", body: { fallbacks: [{ model: 'test/other' }, { model: 'test/claude' }] }, expected: { models: ['test/other', 'test/claude'] } },
    {
      name: 'documents: a PDF → a file part with a data URL, a URL → a file part, plain text → text',
      body: {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'report.pdf', cache_control: ephemeral },
              { type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } },
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'The notes.' } },
              { type: 'text', text: 'Summarise.' },
            ],
          },
        ],
      },
      expected: {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'file', file: { filename: 'report.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' }, cache_control: ephemeral },
              { type: 'file', file: { filename: 'document', file_data: 'https://example.com/a.pdf' } },
              { type: 'text', text: 'The notes.' },
              { type: 'text', text: 'Summarise.' },
            ],
          },
        ],
      },
    },
    {
      name: 'images: base64 → data URL, url → url, cache_control kept',
      body: {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' }, cache_control: ephemeral },
              { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
              { type: 'text', text: 'What is this?' },
            ],
          },
        ],
      },
      expected: {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' }, cache_control: ephemeral },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
              { type: 'text', text: 'What is this?' },
            ],
          },
        ],
      },
    },
    {
      name: 'several text blocks made one text keep a line between them (a tool result, an assistant turn)',
      body: {
        messages: [
          { role: 'user', content: 'Go' },
          { role: 'assistant', content: [{ type: 'text', text: 'Line one.' }, { type: 'text', text: 'Line two.' }, { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'part A' }, { type: 'text', text: 'part B' }] }] },
        ],
      },
      expected: {
        messages: [
          { role: 'user', content: 'Go' },
          { role: 'assistant', content: 'Line one.\nLine two.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'toolu_1', content: 'part A\npart B' },
        ],
      },
    },
    {
      name: 'tool_use → tool_calls; tool_result → tool messages before the rest of the user turn',
      body: {
        messages: [
          { role: 'user', content: 'Weather in Oslo and Rome?' },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Checking.' },
              { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
              { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Rome' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_1', content: '12C' },
              { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: '25C' }], cache_control: ephemeral },
              { type: 'text', text: 'Which is warmer?' },
            ],
          },
        ],
      },
      expected: {
        messages: [
          { role: 'user', content: 'Weather in Oslo and Rome?' },
          {
            role: 'assistant',
            content: 'Checking.',
            tool_calls: [
              { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
              { id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'toolu_1', content: '12C' },
          { role: 'tool', tool_call_id: 'toolu_2', content: [{ type: 'text', text: '25C', cache_control: ephemeral }] },
          { role: 'user', content: [{ type: 'text', text: 'Which is warmer?' }] },
        ],
      },
    },
    {
      name: 'a tool result with an image: both stay in the tool message, in order (OpenAI-format upstreams get the image after it)',
      body: {
        messages: [
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: 'toolu_1',
                content: [
                  { type: 'text', text: 'Screenshot:' },
                  { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'AAA' } },
                ],
              },
            ],
          },
        ],
      },
      expected: {
        messages: [
          {
            role: 'tool',
            tool_call_id: 'toolu_1',
            content: [
              { type: 'text', text: 'Screenshot:' },
              { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,AAA' } },
            ],
          },
        ],
      },
    },
    {
      name: 'a tool result with a PDF (as Claude Code reads one): the document stays in the tool message',
      body: {
        messages: [
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: 'toolu_2',
                content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0x' } }],
              },
            ],
          },
        ],
      },
      expected: {
        messages: [
          { role: 'tool', tool_call_id: 'toolu_2', content: [{ type: 'file', file: { filename: 'document.pdf', file_data: 'data:application/pdf;base64,JVBERi0x' } }] },
        ],
      },
    },
    {
      name: 'thinking blocks → reasoning, with signatures kept in reasoning_details',
      body: {
        messages: [
          { role: 'user', content: 'hi' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'Greet back.', signature: 'sig-1' },
              { type: 'redacted_thinking', data: 'opaque' },
              { type: 'text', text: 'Hello!', cache_control: ephemeral },
            ],
          },
        ],
      },
      expected: {
        messages: [
          { role: 'user', content: 'hi' },
          {
            role: 'assistant',
            content: [{ type: 'text', text: 'Hello!', cache_control: ephemeral }],
            reasoning: 'Greet back.',
            reasoning_details: [
              { type: 'reasoning.text', text: 'Greet back.', signature: 'sig-1', format: 'anthropic-claude-v1', index: 0 },
              { type: 'reasoning.encrypted', data: 'opaque', format: 'anthropic-claude-v1', index: 1 },
            ],
          },
        ],
      },
    },
    {
      name: 'an assistant turn of only tool calls has null content',
      body: { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] }] },
      expected: { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] }] },
    },
  ]

  for (const { name, body, expected } of cases) {
    it(name, () => {
      const chat = convert(body)
      expect(chat).toMatchObject(expected)
      // The result is a valid canonical request.
      expect(ChatRequest.safeParse(chat).success).toBe(true)
    })
  }

  it('omits what the client did not send', () => {
    expect(Object.keys(convert({})).sort()).toEqual(['max_tokens', 'messages', 'model', 'stream'])
  })

  it('refuses fallbacks and models together (OpenRouter does too)', () => {
    expect(() => convert({ models: ['test/other'], fallbacks: [{ model: 'test/claude' }] })).toThrow('give fallbacks or models, not both')
  })
})

describe('MessagesRequest validation', () => {
  const rejected: Array<{ name: string; body: object; path: string }> = [
    { name: 'max_tokens is required', body: { max_tokens: undefined }, path: 'max_tokens' },
    { name: 'temperature above 1', body: { temperature: 1.5 }, path: 'temperature' },
    { name: 'an unknown block type', body: { messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }] }, path: 'messages.0.content' },
    { name: 'a tool without input_schema', body: { tools: [{ name: 'web_search' }] }, path: 'tools.0.input_schema' },
    { name: 'tool_use in a user turn', body: { messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }] }, path: 'messages.0.content' },
    { name: 'an unknown tool_choice', body: { tool_choice: { type: 'sometimes' } }, path: 'tool_choice' },
    { name: 'more than 3 fallbacks', body: { fallbacks: ['a/1', 'a/2', 'a/3', 'a/4'].map((model) => ({ model })) }, path: 'fallbacks' },
  ]
  for (const { name, body, path } of rejected) {
    it(`rejects ${name}`, () => {
      const parsed = MessagesRequest.safeParse({ ...base, ...body })
      expect(parsed.success).toBe(false)
      expect(parsed.error!.issues.map((issue) => issue.path.join('.')).some((issuePath) => issuePath.startsWith(path))).toBe(true)
    })
  }

  it("refuses Anthropic's server tools by their type, with no schema mismatch beside it (Claude Code's WebSearch)", () => {
    const parsed = MessagesRequest.safeParse({ ...base, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 8 }] })
    expect(parsed.error!.issues).toEqual([
      expect.objectContaining({
        path: ['tools', 0, 'type'],
        message: 'Tools of type "web_search_20250305" (Anthropic\'s server and client tools) are not supported: give each tool a name and an input_schema',
      }),
    ])
  })
})

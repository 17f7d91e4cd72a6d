import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { isClaude } from '../../src/formats/bedrock/claude'
import { cachesForAnHour, cachesPrompts, takesAnyTool, takesForcedTool, toBedrock } from '../../src/formats/bedrock/request'
import type { ChatRequest } from '../../src/formats/openai/request'

const request = (fields: Partial<ChatRequest>): ChatRequest => ({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], ...fields })

describe('toBedrock', () => {
  it('puts system text apart and content in blocks, with inferenceConfig from the parameter table', () => {
    const body = toBedrock(request({
      messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Hi' }],
      temperature: 0.3, top_p: 0.9, stop: 'END', seed: 4,
    }), { maxTokens: 100 })
    expect(body).toEqual({
      system: [{ text: 'Be terse.' }],
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      inferenceConfig: { maxTokens: 100, temperature: 0.3, topP: 0.9, stopSequences: ['END'] },
    })
  })

  it('keeps each system text part its own block, as Anthropic’s API does, leaving out blank ones', () => {
    const system = (content: string | { type: 'text'; text: string }[]) => toBedrock(request({ messages: [{ role: 'system', content }, { role: 'user', content: 'Hi' }] })).system
    expect(system([{ type: 'text', text: 'You are Claude Code.' }, { type: 'text', text: ' ' }, { type: 'text', text: 'Be terse.' }])).toEqual([{ text: 'You are Claude Code.' }, { text: 'Be terse.' }])
    expect(system('  ')).toBeUndefined()
  })

  it("leaves out Claude's whitespace-only stop sequences, and keeps them for other models", () => {
    const claude = { upstreamModel: 'anthropic.claude-sonnet-4-5-20250929-v1:0', maxTokensCap: 8192 }
    expect(toBedrock(request({ stop: ['\n', 'END'] }), { claude }).inferenceConfig).toEqual({ maxTokens: 8192, stopSequences: ['END'] })
    expect(toBedrock(request({ stop: '\n' }), { claude }).inferenceConfig).toEqual({ maxTokens: 8192 })
    expect(toBedrock(request({ stop: ['\n', 'END'] })).inferenceConfig).toEqual({ stopSequences: ['\n', 'END'] })
  })

  it('sends Claude the endpoint’s output cap when the client gives none (Converse would cap it at 4,096), and other models nothing', () => {
    const claude = { upstreamModel: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', maxTokensCap: 64_000 }
    expect(toBedrock(request({}), { claude }).inferenceConfig).toEqual({ maxTokens: 64_000 })
    expect(toBedrock(request({}), { claude, maxTokens: 1000 }).inferenceConfig).toEqual({ maxTokens: 1000 })
    expect(toBedrock(request({}))).not.toHaveProperty('inferenceConfig')
  })

  it('keeps a temperature within Converse’s range, up to 1, for every model', () => {
    expect(toBedrock(request({ temperature: 1.5 }), { maxTokens: 100 }).inferenceConfig).toEqual({ maxTokens: 100, temperature: 1 })
  })

  it('sends data-URL images as bytes and refuses http URLs naming the part', () => {
    const image = (url: string) => request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'What?' }, { type: 'image_url', image_url: { url } }] }] })
    expect(toBedrock(image('data:image/png;base64,iVBORw0KGgo=')).messages).toEqual([
      { role: 'user', content: [{ text: 'What?' }, { image: { format: 'png', source: { bytes: 'iVBORw0KGgo=' } } }] },
    ])
    expect(() => toBedrock(image('https://example.com/a.png'))).toThrow(GatewayError)
    expect(() => toBedrock(image('https://example.com/a.png'))).toThrow(/messages\[0\]\.content\[1\]/)
  })

  it('sends a PDF given as an image_url as a document, which Converse refuses as an image', () => {
    const body = toBedrock(request({ messages: [{ role: 'user', content: [
      { type: 'text', text: 'Summarise.' },
      { type: 'image_url', image_url: { url: 'data:application/pdf;base64,JVBERi0=' } },
    ] }] }))
    expect(body.messages).toEqual([{ role: 'user', content: [
      { text: 'Summarise.' },
      { document: { format: 'pdf', name: 'document', source: { bytes: 'JVBERi0=' } } },
    ] }])
  })

  it('declares the tools a history of calls used when the request declares none, as Converse wants toolConfig beside toolUse blocks', () => {
    const body = toBedrock(request({ messages: [
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '12 C' },
      { role: 'user', content: 'Summarise this in one line.' },
    ] }))
    expect(body.toolConfig).toEqual({ tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: { type: 'object' } } } }] })
  })

  it('marks cache points where cache_control asks, for a model that caches prompts: system, content, after a tool result, tools', () => {
    const cached = { cache_control: { type: 'ephemeral' } }
    const body = toBedrock(request({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Long instructions.', ...cached }] },
        { role: 'user', content: [{ type: 'text', text: 'A long document.', ...cached }, { type: 'text', text: 'Weather?' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 't1', content: [{ type: 'text', text: 'sunny', ...cached }] },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather' }, ...cached }],
    }), { jsonTool: true, caching: true, claude: { upstreamModel: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', maxTokensCap: 8192 } })
    const point = { cachePoint: { type: 'default' } }
    expect(body.system).toEqual([{ text: 'Long instructions.' }, point])
    expect(body.messages).toEqual([
      { role: 'user', content: [{ text: 'A long document.' }, point, { text: 'Weather?' }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'get_weather', input: {} } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: 'sunny' }] } }, point] },
    ])
    expect((body.toolConfig as { tools: unknown[] }).tools).toEqual([{ toolSpec: { name: 'get_weather', inputSchema: { json: { type: 'object', properties: {} } } } }, point])
    // A model that does not cache prompts gets no cache point.
    expect(JSON.stringify(toBedrock(request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi', ...cached }] }] })))).not.toContain('cachePoint')
  })

  it('ends a system cache point at the marked part, before text that changes, and marks assistant text and calls Claude Code marked', () => {
    const cached = { cache_control: { type: 'ephemeral' } }
    const point = { cachePoint: { type: 'default' } }
    const claude = { upstreamModel: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', maxTokensCap: 8192 }
    const body = toBedrock(request({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Long static instructions.', ...cached }, { type: 'text', text: 'Today is 2026-11-24.' }] },
        { role: 'user', content: 'Run ls' },
        {
          role: 'assistant',
          content: [{ type: 'text', text: 'Running it.', ...cached }],
          tool_calls: [{ id: 't1', type: 'function', function: { name: 'bash', arguments: '{}' }, ...cached } as never],
        },
        { role: 'tool', tool_call_id: 't1', content: 'a.txt' },
      ],
    }), { jsonTool: true, caching: true, claude })
    expect(body.system).toEqual([{ text: 'Long static instructions.' }, point, { text: 'Today is 2026-11-24.' }])
    expect((body.messages as Array<{ content: unknown[] }>)[1]!.content).toEqual([{ text: 'Running it.' }, point, { toolUse: { toolUseId: 't1', name: 'bash', input: {} } }, point])
  })

  it('puts no cache point among Nova’s tools (Converse caches tools for Claude only), and keeps its system one', () => {
    const cached = { cache_control: { type: 'ephemeral' } }
    const body = toBedrock(request({
      messages: [{ role: 'system', content: [{ type: 'text', text: 'Fixed.', ...cached }] }, { role: 'user', content: 'Weather?' }],
      tools: [{ type: 'function', function: { name: 'get_weather' }, ...cached }],
    }), { jsonTool: true, caching: cachesPrompts('us.amazon.nova-pro-v1:0') })
    expect(JSON.stringify(body.toolConfig)).not.toContain('cachePoint')
    expect(body.system).toEqual([{ text: 'Fixed.' }, { cachePoint: { type: 'default' } }])
  })

  it('sends a marker’s one-hour ttl to the models that keep an hour (Claude 4.5 and later), five minutes to others', () => {
    const hour = { cache_control: { type: 'ephemeral', ttl: '1h' } }
    const ask = request({ messages: [{ role: 'system', content: [{ type: 'text', text: 'Fixed.', ...hour }] }, { role: 'user', content: 'Hi' }] })
    const system = (upstreamModel: string) => toBedrock(ask, { caching: cachesPrompts(upstreamModel), hourCaching: cachesForAnHour(upstreamModel) }).system
    expect(system('us.anthropic.claude-sonnet-4-5-20250929-v1:0')).toEqual([{ text: 'Fixed.' }, { cachePoint: { type: 'default', ttl: '1h' } }])
    expect(system('anthropic.claude-3-7-sonnet-20250219-v1:0')).toEqual([{ text: 'Fixed.' }, { cachePoint: { type: 'default' } }])
    expect(system('us.amazon.nova-pro-v1:0')).toEqual([{ text: 'Fixed.' }, { cachePoint: { type: 'default' } }])
  })

  it('knows which models cache prompts: Claude 3.5 Haiku, 3.7 and later, and Nova (AWS prompt caching guide)', () => {
    const caching = ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'anthropic.claude-3-7-sonnet-20250219-v1:0', 'us.amazon.nova-pro-v1:0', 'us.anthropic.claude-3-5-haiku-20241022-v1:0']
    expect(caching.map(cachesPrompts)).toEqual([true, true, true, true])
    expect(['anthropic.claude-3-haiku-20240307-v1:0', 'meta.llama3-70b-instruct-v1:0', 'mistral.mistral-large-2402-v1:0'].map(cachesPrompts)).toEqual([false, false, false])
  })

  it('sends files as named documents in Converse formats, and refuses URLs and other types naming the part', () => {
    const file = (filename: string | undefined, file_data: string) => ({ type: 'file' as const, file: { filename, file_data } })
    const body = toBedrock(request({
      messages: [{ role: 'user', content: [
        file('Q3 report: final.v2.pdf', 'data:application/pdf;base64,JVBERi0='),
        file('Q3 report: final.v2.pdf', 'data:application/pdf;base64,JVBERi1='),
        file(undefined, 'data:text/csv;base64,YSxi'),
        { type: 'text', text: 'Compare them.' },
      ] }],
    }))
    expect(body.messages).toEqual([{ role: 'user', content: [
      { document: { format: 'pdf', name: 'Q3 report final v2', source: { bytes: 'JVBERi0=' } } },
      { document: { format: 'pdf', name: 'Q3 report final v2 (2)', source: { bytes: 'JVBERi1=' } } },
      { document: { format: 'csv', name: 'document', source: { bytes: 'YSxi' } } },
      { text: 'Compare them.' },
    ] }])
    const refused = (part: ReturnType<typeof file>) => () => toBedrock(request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Read' }, part] }] }))
    expect(refused(file('a.pdf', 'https://example.com/a.pdf'))).toThrow(/messages\[0\]\.content\[1\]: Bedrock Converse takes a file only as a base64 data: URL/)
    expect(refused(file('a.zip', 'data:application/zip;base64,UEs='))).toThrow(/file type "application\/zip" is not supported/)
  })

  it('keeps documents beside text, as Converse wants: inside the tool result they followed, or named in a text block', () => {
    const pdf = { type: 'file' as const, file: { filename: 'scan.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } }
    const document = { document: { format: 'pdf', name: 'scan', source: { bytes: 'JVBERi0=' } } }
    const afterTool = toBedrock(request({
      messages: [
        { role: 'user', content: 'Read it' },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'read', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 't1', content: 'The file:' },
        { role: 'user', content: [pdf] },
      ],
    }))
    expect((afterTool.messages as unknown[])[2]).toEqual({ role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: 'The file:' }, document] } }] })
    expect(toBedrock(request({ messages: [{ role: 'user', content: [pdf] }] })).messages).toEqual([{ role: 'user', content: [document, { text: 'Attached: scan' }] }])
    // As Claude Code's Read of a PDF arrives: a tool result with no text, then the document.
    const onlyDocument = toBedrock(request({
      messages: [
        { role: 'user', content: 'Read it' },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'read', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 't1', content: '' },
        { role: 'user', content: [pdf] },
      ],
    }))
    expect((onlyDocument.messages as unknown[])[2]).toEqual({ role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [document] } }] })
    // Two results: which document belongs to which cannot be told, so the documents stay beside a text block.
    const two = toBedrock(request({
      messages: [
        { role: 'user', content: 'Read both' },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'read', arguments: '{}' } }, { id: 't2', type: 'function', function: { name: 'read', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 't1', content: '' },
        { role: 'tool', tool_call_id: 't2', content: '' },
        { role: 'user', content: [pdf] },
      ],
    }))
    expect((two.messages as unknown[])[2]).toEqual({ role: 'user', content: [
      { toolResult: { toolUseId: 't1', content: [{ text: '(no output)' }] } },
      { toolResult: { toolUseId: 't2', content: [{ text: '(no output)' }] } },
      document,
      { text: 'Attached: scan' },
    ] })
  })

  it("keeps a tool result's own images and documents inside it for Claude and Nova", () => {
    const body = toBedrock(request({
      messages: [
        { role: 'user', content: 'Read them' },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'read', arguments: '{}' } }, { id: 't2', type: 'function', function: { name: 'read', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 't1', content: [{ type: 'text', text: 'chart:' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0=' } }] },
        { role: 'tool', tool_call_id: 't2', content: [{ type: 'file', file: { filename: 'scan.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } }] },
      ],
    }), { jsonTool: true })
    expect((body.messages as unknown[])[2]).toEqual({ role: 'user', content: [
      { toolResult: { toolUseId: 't1', content: [{ text: 'chart:' }, { image: { format: 'png', source: { bytes: 'iVBORw0=' } } }] } },
      { toolResult: { toolUseId: 't2', content: [{ document: { format: 'pdf', name: 'scan', source: { bytes: 'JVBERi0=' } } }] } },
    ] })
  })

  it('reads data URLs with parameters, and keeps document names within 200 characters', () => {
    const long = 'x'.repeat(300)
    const body = toBedrock(request({ messages: [{ role: 'user', content: [
      { type: 'file', file: { filename: `${long}.md`, file_data: 'data:text/markdown;charset=utf-8;base64,IyBI' } },
      { type: 'file', file: { filename: `${long}.md`, file_data: 'data:text/markdown;charset=utf-8;base64,IyBJ' } },
      { type: 'text', text: 'Compare.' },
    ] }] }))
    const names = (body.messages as Array<{ content: Array<{ document?: { name: string; format: string } }> }>)[0]!.content.flatMap((block) => (block.document ? [block.document] : []))
    expect(names.map((document) => document.format)).toEqual(['md', 'md'])
    expect(names.map((document) => document.name.length)).toEqual([190, 194])
  })

  it('turns tool calls into toolUse and tool results into toolResult blocks in one user turn (a failed one with status error)', () => {
    const asked = request({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        { role: 'assistant', content: '', tool_calls: [
          { id: 't1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 't2', type: 'function', function: { name: 'get_weather', arguments: '' } },
        ] },
        { role: 'tool', tool_call_id: 't1', content: 'sunny' },
        { role: 'tool', tool_call_id: 't2', content: 'rain', is_error: true },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      tool_choice: 'required',
    })
    // Claude and Nova (the models that take a forced tool) take a result's status; others refuse it.
    const body = toBedrock(asked, { jsonTool: true })
    const results = (toBedrock(asked).messages as { content: { toolResult?: object }[] }[])[2]!.content
    expect(results.map((block) => block.toolResult)).not.toContainEqual(expect.objectContaining({ status: 'error' }))
    expect(body.messages).toEqual([
      { role: 'user', content: [{ text: 'Weather in Paris and Rome?' }] },
      { role: 'assistant', content: [
        { toolUse: { toolUseId: 't1', name: 'get_weather', input: { city: 'Paris' } } },
        { toolUse: { toolUseId: 't2', name: 'get_weather', input: {} } },
      ] },
      { role: 'user', content: [
        { toolResult: { toolUseId: 't1', content: [{ text: 'sunny' }] } },
        { toolResult: { toolUseId: 't2', content: [{ text: 'rain' }], status: 'error' } },
      ] },
    ])
    expect(body.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'get_weather', description: 'Weather', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } } } }],
      toolChoice: { any: {} },
    })
  })

  it('asks for structured output with a forced tool, or one more tool beside the client\'s', () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } } }
    const response_format = { type: 'json_schema' as const, json_schema: { name: 'place', schema } }
    // Only Claude and Nova take a forced tool; other models get the request as before.
    expect(toBedrock(request({ response_format })).toolConfig).toBeUndefined()
    expect(takesForcedTool('us.amazon.nova-pro-v1:0') && takesForcedTool('anthropic.claude-3-haiku-20240307-v1:0') && !takesForcedTool('meta.llama3-70b-instruct-v1:0')).toBe(true)
    expect(toBedrock(request({ response_format }), { jsonTool: true }).toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'json_response', description: 'Give the final answer as JSON matching this schema.', inputSchema: { json: schema } } }],
      toolChoice: { tool: { name: 'json_response' } },
    })
    const withTools = toBedrock(request({ response_format: { type: 'json_object' }, tools: [{ type: 'function', function: { name: 'json_response' } }] }), { jsonTool: true })
    expect(withTools.toolConfig).toEqual({
      tools: [
        { toolSpec: { name: 'json_response', inputSchema: { json: { type: 'object', properties: {} } } } },
        { toolSpec: { name: 'json_response_2', description: 'Give the final answer as JSON matching this schema.', inputSchema: { json: { type: 'object' } } } },
      ],
    })
  })

  const named = { type: 'function', function: { name: 'f' } } as const
  it.each([
    ['auto', 'anthropic.claude-3-haiku-20240307-v1:0', { auto: {} }],
    [named, 'us.amazon.nova-pro-v1:0', { tool: { name: 'f' } }],
    ['required', 'us.amazon.nova-pro-v1:0', { any: {} }],
    // Converse refuses toolChoice.tool from models other than Claude and Nova, and toolChoice.any
    // from those but Mistral Large ("This model doesn't support the toolConfig.toolChoice.any field").
    [named, 'mistral.mistral-large-2407-v1:0', { any: {} }],
    [named, 'meta.llama3-3-70b-instruct-v1:0', undefined],
    ['required', 'meta.llama3-3-70b-instruct-v1:0', undefined],
    ['auto', 'meta.llama3-3-70b-instruct-v1:0', { auto: {} }],
    ['none', 'anthropic.claude-3-haiku-20240307-v1:0', undefined],
  ] as const)('maps tool_choice %j for %s', (choice, upstreamModel, expected) => {
    const options = { jsonTool: takesForcedTool(upstreamModel), anyTool: takesAnyTool(upstreamModel) }
    const body = toBedrock(request({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: choice }), options)
    expect((body.toolConfig as { toolChoice?: unknown }).toolChoice).toEqual(expected)
  })
})

describe('toBedrock for Claude', () => {
  const claude = { upstreamModel: 'us.anthropic.claude-sonnet-4-20250514-v1:0', maxTokensCap: 64_000 }
  const signed = [{ type: 'reasoning.text', text: 'Check the weather.', signature: 'sig-1', format: 'anthropic-claude-v1', index: 0 }]
  const toolTurn = (reasoning_details: unknown[]): ChatRequest['messages'] => [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: null, reasoning_details, tool_calls: [{ id: 't1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 't1', content: 'sunny' },
  ]
  const tools: ChatRequest['tools'] = [{ type: 'function', function: { name: 'get_weather' } }]

  it('sends top_k in additionalModelRequestFields and keeps temperature within Claude\'s range', () => {
    const body = toBedrock(request({ temperature: 1.5, top_k: 40 }), { maxTokens: 500, claude })
    expect(body.inferenceConfig).toEqual({ maxTokens: 500, temperature: 1 })
    expect(body.additionalModelRequestFields).toEqual({ top_k: 40 })
  })

  it('sends Claude temperature or topP, not both, which Claude since Sonnet 4.5 refuses', () => {
    expect(toBedrock(request({ temperature: 0.7, top_p: 1 }), { maxTokens: 500, claude }).inferenceConfig).toEqual({ maxTokens: 500, temperature: 0.7 })
    expect(toBedrock(request({ top_p: 0.8 }), { maxTokens: 500, claude }).inferenceConfig).toEqual({ maxTokens: 500, topP: 0.8 })
  })

  it('turns a reasoning effort into a thinking budget, dropping what thinking forbids', () => {
    const body = toBedrock(request({ reasoning: { effort: 'high' }, temperature: 0.3, top_p: 0.5, top_k: 40 }), { maxTokens: 10_000, claude })
    expect(body.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 8000 } })
    expect(body.inferenceConfig).toEqual({ maxTokens: 10_000, topP: 0.95 })
  })

  it('sets max_tokens for thinking when the client sent none, and raises it above the budget', () => {
    expect(toBedrock(request({ reasoning: { max_tokens: 2048 } }), { claude }).inferenceConfig).toEqual({ maxTokens: 64_000 })
    const raised = toBedrock(request({ reasoning: { max_tokens: 4000 } }), { maxTokens: 1000, claude })
    expect(raised.inferenceConfig).toEqual({ maxTokens: 5000 })
    expect(raised.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 4000 } })
  })

  it('replays signed and redacted reasoning first in the assistant turn, and keeps thinking on for the tool result', () => {
    const details = [...signed, { type: 'reasoning.encrypted', data: 'ZW5j', format: 'anthropic-claude-v1' }, { type: 'reasoning.text', text: 'unsigned', index: 2 }]
    const body = toBedrock(request({ messages: toolTurn(details), tools, reasoning: { max_tokens: 2048 } }), { maxTokens: 4096, claude })
    expect((body.messages as Array<{ content: unknown[] }>)[1]!.content).toEqual([
      { reasoningContent: { reasoningText: { text: 'Check the weather.', signature: 'sig-1' } } },
      { reasoningContent: { redactedContent: 'ZW5j' } },
      { toolUse: { toolUseId: 't1', name: 'get_weather', input: {} } },
    ])
    expect(body.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 2048 } })
  })

  it('holds thinking back where Claude refuses it: a tool-use turn without its reasoning, or a forced tool', () => {
    const lost = toBedrock(request({ messages: toolTurn([]), tools, reasoning: { max_tokens: 2048 } }), { maxTokens: 4096, claude })
    expect(lost.additionalModelRequestFields).toBeUndefined()
    const forced = toBedrock(request({ tools, tool_choice: 'required', reasoning: { max_tokens: 2048 } }), { maxTokens: 4096, claude })
    expect(forced.additionalModelRequestFields).toBeUndefined()
  })

  it('sends none of this to other models: no reasoning replayed, no top_k, no thinking', () => {
    const body = toBedrock(request({ messages: toolTurn(signed), tools, top_k: 40, temperature: 1.5, reasoning: { effort: 'high' } }), { maxTokens: 4096 })
    expect((body.messages as Array<{ content: unknown[] }>)[1]!.content).toEqual([{ toolUse: { toolUseId: 't1', name: 'get_weather', input: {} } }])
    expect(body.additionalModelRequestFields).toBeUndefined()
    expect(body.inferenceConfig).toEqual({ maxTokens: 4096, temperature: 1 })
  })

  it('sends adaptive thinking with a max_tokens, and no thinking to Claude 3.5 and older', () => {
    const adaptive = toBedrock(request({ reasoning: { effort: 'high' } }), { claude: { upstreamModel: 'us.anthropic.claude-opus-4-7-v1:0', maxTokensCap: 32_000 } })
    // Opus 4.7 omits its thinking by default: the reasoning asked for is asked for summarized.
    expect(adaptive.additionalModelRequestFields).toEqual({ thinking: { type: 'adaptive', display: 'summarized' } })
    expect(adaptive.inferenceConfig).toEqual({ maxTokens: 32_000 })
    const old = toBedrock(request({ messages: toolTurn(signed), tools, reasoning: { effort: 'high' }, temperature: 0.5 }), { maxTokens: 4096, claude: { upstreamModel: 'anthropic.claude-3-5-sonnet-20241022-v2:0', maxTokensCap: 8192 } })
    expect(old.additionalModelRequestFields).toBeUndefined()
    // Nor is another model's thinking replayed to it.
    expect((old.messages as Array<{ content: unknown[] }>)[1]!.content).toEqual([{ toolUse: { toolUseId: 't1', name: 'get_weather', input: {} } }])
    expect(old.inferenceConfig).toEqual({ maxTokens: 4096, temperature: 0.5 })
  })

  it('holds thinking back for an assistant prefill, and puts merged reasoning first in the turn', () => {
    const prefill = toBedrock(request({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: '{' }], reasoning: { max_tokens: 2048 } }), { maxTokens: 4096, claude })
    expect(prefill.additionalModelRequestFields).toBeUndefined()
    const merged = toBedrock(request({
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: 'Let me look.' },
        ...toolTurn(signed).slice(1),
      ],
      tools,
      reasoning: { max_tokens: 2048 },
    }), { maxTokens: 4096, claude })
    expect((merged.messages as Array<{ content: object[] }>)[1]!.content).toEqual([
      { reasoningContent: { reasoningText: { text: 'Check the weather.', signature: 'sig-1' } } },
      { text: 'Let me look.' },
      { toolUse: { toolUseId: 't1', name: 'get_weather', input: {} } },
    ])
    expect(merged.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 2048 } })
  })

  it('knows Claude by its Bedrock ids', () => {
    expect(['anthropic.claude-3-7-sonnet-20250219-v1:0', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0', 'arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-opus-4-1-20250805-v1:0'].every(isClaude)).toBe(true)
    expect(['meta.llama3-70b-instruct-v1:0', 'amazon.nova-pro-v1:0', 'deepseek.r1-v1:0'].some(isClaude)).toBe(false)
  })
})


describe('a conversation that does not open with a user turn', () => {
  // Converse: "ValidationException: A conversation must start with a user message." OpenAI takes a
  // chat that opens with the assistant's greeting, and one of a system prompt alone.
  it('gets a user turn first when it opens with the assistant’s greeting', () => {
    const body = toBedrock(request({
      messages: [
        { role: 'system', content: 'You are the support bot.' },
        { role: 'assistant', content: 'Hello! How can I help you today?' },
        { role: 'user', content: 'My order is late.' },
      ],
    }))
    expect(body.messages).toEqual([
      { role: 'user', content: [{ text: '.' }] },
      { role: 'assistant', content: [{ text: 'Hello! How can I help you today?' }] },
      { role: 'user', content: [{ text: 'My order is late.' }] },
    ])
  })

  it('gets one when it holds a system prompt alone', () => {
    const body = toBedrock(request({ messages: [{ role: 'system', content: 'Summarise the rules of chess.' }] }))
    expect(body).toMatchObject({ system: [{ text: 'Summarise the rules of chess.' }], messages: [{ role: 'user', content: [{ text: '.' }] }] })
  })
})

import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { toBedrock } from '../../src/formats/bedrock/request'
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

  it('sends data-URL images as bytes and refuses http URLs naming the part', () => {
    const image = (url: string) => request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'What?' }, { type: 'image_url', image_url: { url } }] }] })
    expect(toBedrock(image('data:image/png;base64,iVBORw0KGgo=')).messages).toEqual([
      { role: 'user', content: [{ text: 'What?' }, { image: { format: 'png', source: { bytes: 'iVBORw0KGgo=' } } }] },
    ])
    expect(() => toBedrock(image('https://example.com/a.png'))).toThrow(GatewayError)
    expect(() => toBedrock(image('https://example.com/a.png'))).toThrow(/messages\[0\]\.content\[1\]/)
  })

  it('turns tool calls into toolUse and tool results into toolResult blocks in one user turn', () => {
    const body = toBedrock(request({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        { role: 'assistant', content: '', tool_calls: [
          { id: 't1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 't2', type: 'function', function: { name: 'get_weather', arguments: '' } },
        ] },
        { role: 'tool', tool_call_id: 't1', content: 'sunny' },
        { role: 'tool', tool_call_id: 't2', content: 'rain' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      tool_choice: 'required',
    }))
    expect(body.messages).toEqual([
      { role: 'user', content: [{ text: 'Weather in Paris and Rome?' }] },
      { role: 'assistant', content: [
        { toolUse: { toolUseId: 't1', name: 'get_weather', input: { city: 'Paris' } } },
        { toolUse: { toolUseId: 't2', name: 'get_weather', input: {} } },
      ] },
      { role: 'user', content: [
        { toolResult: { toolUseId: 't1', content: [{ text: 'sunny' }] } },
        { toolResult: { toolUseId: 't2', content: [{ text: 'rain' }] } },
      ] },
    ])
    expect(body.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'get_weather', description: 'Weather', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } } } }],
      toolChoice: { any: {} },
    })
  })

  it.each([
    ['auto', { auto: {} }],
    [{ type: 'function', function: { name: 'f' } }, { tool: { name: 'f' } }],
    ['none', undefined],
  ] as const)('maps tool_choice %j', (choice, expected) => {
    const body = toBedrock(request({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: choice }))
    expect((body.toolConfig as { toolChoice?: unknown }).toolChoice).toEqual(expected)
  })
})

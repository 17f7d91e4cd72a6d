import { describe, expect, it } from 'vitest'
import { toGemini } from '../../src/formats/gemini/request'
import { toGeminiSchema } from '../../src/formats/gemini/tools'
import { ChatRequest } from '../../src/formats/openai/request'

describe('Gemini function-declaration schemas, to what Gemini takes', () => {
  it('leaves out string formats Gemini refuses, keeping date-time and number widths', () => {
    const schema = toGeminiSchema({
      type: 'object',
      properties: {
        url: { type: 'string', format: 'uri' },
        email: { type: 'string', format: 'email' },
        when: { type: 'string', format: 'date-time' },
        count: { type: 'integer', format: 'int64' },
      },
    }) as { properties: Record<string, Record<string, unknown>> }
    expect(schema.properties).toEqual({
      url: { type: 'string' },
      email: { type: 'string' },
      when: { type: 'string', format: 'date-time' },
      count: { type: 'integer', format: 'int64' },
    })
  })

  it('keeps an enum only on strings, and tells the model the values of any other in the description', () => {
    const schema = toGeminiSchema({
      type: 'object',
      properties: {
        level: { type: 'integer', enum: [1, 2, 3], description: 'How loud.' },
        flag: { type: 'boolean', const: true },
        color: { enum: ['red', 'green'] },
      },
    }) as { properties: Record<string, Record<string, unknown>> }
    expect(schema.properties).toEqual({
      level: { type: 'integer', description: 'How loud. One of: 1, 2, 3.' },
      flag: { type: 'boolean', description: 'One of: true.' },
      color: { type: 'string', enum: ['red', 'green'] },
    })
  })
})

describe('Gemini media parts', () => {
  it('takes a data: URL whose media type has parameters (RFC 2397)', () => {
    const request = ChatRequest.parse({
      model: 'test/gemini',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;name=shot.png;base64,iVBORw0KGgo=' } }] }],
    })
    const body = toGemini(request) as { contents: Array<{ parts: unknown[] }> }
    expect(body.contents[0]!.parts).toEqual([{ inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }])
  })
})

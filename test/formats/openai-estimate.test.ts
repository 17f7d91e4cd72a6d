import { describe, expect, it } from 'vitest'
import { estimatePromptTokens, IMAGE_TOKEN_BOUND, promptTokenBound, refersToFiles } from '../../src/formats/openai/estimate'
import { ChatRequest } from '../../src/formats/openai/request'

const request = (body: object) => ChatRequest.parse({ model: 'm', ...body })
const tool = (name: string) => ({
  type: 'function',
  function: { name, description: 'x'.repeat(1000), parameters: { type: 'object', properties: { city: { type: 'string' } } } },
})

describe('the prompt estimate', () => {
  it('counts message text at four characters a token', () => {
    expect(estimatePromptTokens(request({ messages: [{ role: 'user', content: 'x'.repeat(400) }] }))).toBe(100)
  })

  it('counts what else the provider bills as prompt: tool definitions, tool calls, a response schema and images', () => {
    const tools = Array.from({ length: 40 }, (_, index) => tool(`tool_${index}`))
    const withTools = request({ messages: [{ role: 'user', content: 'hi' }], tools })
    expect(estimatePromptTokens(withTools)).toBe(Math.ceil((2 + JSON.stringify(withTools.tools).length) / 4))
    expect(estimatePromptTokens(withTools)).toBeGreaterThan(10_000)

    const call = { id: 'c1', type: 'function', function: { name: 'f', arguments: JSON.stringify({ q: 'y'.repeat(396) }) } }
    const withCall = estimatePromptTokens(request({ messages: [{ role: 'assistant', content: null, tool_calls: [call] }] }))
    expect(withCall).toBeGreaterThan(100)

    const schema = { type: 'json_schema', json_schema: { name: 's', schema: { description: 'z'.repeat(800) } } }
    expect(estimatePromptTokens(request({ messages: [{ role: 'user', content: '' }], response_format: schema }))).toBeGreaterThan(200)

    const image = { type: 'image_url', image_url: { url: 'https://example.com/a.png' } }
    expect(estimatePromptTokens(request({ messages: [{ role: 'user', content: [image, image] }] }))).toBe(2 * 765)
  })

  it('stays below the bound, which the reservation rests on', () => {
    const body = {
      messages: [{ role: 'user', content: [{ type: 'text', text: 'héllo '.repeat(50) }, { type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }],
      tools: [tool('a'), tool('b')],
      response_format: { type: 'json_object' },
    }
    expect(estimatePromptTokens(request(body))).toBeLessThan(promptTokenBound(request(body)))
  })
})

describe('files given by reference', () => {
  const withFile = (file: object) => request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'summarise' }, { type: 'file', file }] }] })

  it('are told apart from files carried inline, whose size the bound counts', () => {
    expect(refersToFiles(withFile({ filename: 'a.pdf', file_data: 'https://example.com/a.pdf' }))).toBe(true)
    expect(refersToFiles(withFile({ file_id: 'file-abc' }))).toBe(true)
    expect(refersToFiles(withFile({ filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' }))).toBe(false)
    expect(refersToFiles(request({ messages: [{ role: 'user', content: 'hi' }] }))).toBe(false)
  })

  it('include a PDF linked as an image_url (Gemini reads those); a PDF inline there counts by its size, not as an image', () => {
    const withImage = (url: string) => request({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] })
    expect(refersToFiles(withImage('https://example.com/report.PDF?download=1'))).toBe(true)
    expect(refersToFiles(withImage('https://example.com/photo.png'))).toBe(false)
    const pdf = `data:application/pdf;base64,${'A'.repeat(20_000)}`
    expect(refersToFiles(withImage(pdf))).toBe(false)
    expect(promptTokenBound(withImage(pdf))).toBeGreaterThan(20_000)
    expect(promptTokenBound(withImage('data:image/png;base64,AAAA'))).toBe(16 + IMAGE_TOKEN_BOUND)
  })
})

import { describe, expect, it } from 'vitest'
import { cachesForAnHour, carriesDocuments, estimatePromptTokens, IMAGE_TOKEN_BOUND, promptTokenBound } from '../../src/formats/openai/estimate'
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

  it('counts an assistant turn\'s earlier reasoning, which lenient upstreams take as prompt, in the estimate and the bound', () => {
    const thought = 'r'.repeat(4000)
    const withReasoning = request({ messages: [{ role: 'assistant', content: 'ok', reasoning: thought, reasoning_details: [{ type: 'reasoning.text', text: thought }] }, { role: 'user', content: 'hi' }] })
    expect(estimatePromptTokens(withReasoning)).toBeGreaterThan(2000)
    expect(promptTokenBound(withReasoning)).toBeGreaterThan(8000)
  })

  it('counts a message’s other fields, which OpenAI-format upstreams receive and may bill: a name, a tool result’s call id, a field passed through', () => {
    const plain = request({ messages: [{ role: 'user', content: 'hi' }] })
    const named = request({ messages: [{ role: 'user', content: 'hi', name: 'n'.repeat(4000) }] })
    expect(estimatePromptTokens(named) - estimatePromptTokens(plain)).toBe(1000)
    expect(promptTokenBound(named) - promptTokenBound(plain)).toBe(4000)
    const result = request({ messages: [{ role: 'tool', content: 'ok', tool_call_id: 'c'.repeat(400) }] })
    expect(promptTokenBound(result)).toBeGreaterThanOrEqual(400)
    const extra = request({ messages: [{ role: 'user', content: 'hi', metadata: { note: 'm'.repeat(800) } }] })
    expect(promptTokenBound(extra) - promptTokenBound(plain)).toBeGreaterThan(800)
  })

  it('counts an answer’s generated images sent back with its turn as images, and its annotations and audio not as text', () => {
    const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(100_000)}` } }
    const plain = request({ messages: [{ role: 'assistant', content: 'Here it is.' }] })
    const echoed = request({ messages: [{ role: 'assistant', content: 'Here it is.', images: [image, image], annotations: [{ type: 'url_citation', url_citation: { url: 'https://example.com', content: 'x'.repeat(10_000) } }], audio: { id: 'audio_1' } }] })
    expect(estimatePromptTokens(echoed) - estimatePromptTokens(plain)).toBe(2 * 765)
    expect(promptTokenBound(echoed) - promptTokenBound(plain)).toBe(2 * IMAGE_TOKEN_BOUND)
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

describe('a structured response_format', () => {
  it('is bounded with the forced tool an Anthropic-format upstream receives for it, system prompt included', () => {
    const plain = request({ messages: [{ role: 'user', content: 'hi' }] })
    const structured = request({ messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_object' } })
    expect(promptTokenBound(structured) - promptTokenBound(plain)).toBe(1024 + '{"type":"json_object"}'.length)
    const text = request({ messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'text' } })
    expect(promptTokenBound(text) - promptTokenBound(plain)).toBe('{"type":"text"}'.length)
  })
})

describe('files and documents, whose tokens the request does not show', () => {
  const withFile = (file: object) => request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'summarise' }, { type: 'file', file }] }] })

  it('are found inline or by reference, as file parts', () => {
    expect(carriesDocuments(withFile({ filename: 'a.pdf', file_data: 'https://example.com/a.pdf' }))).toBe(true)
    // Inline too: a PDF page is billed as an image plus its text, whatever its bytes.
    expect(carriesDocuments(withFile({ filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' }))).toBe(true)
    expect(carriesDocuments(request({ messages: [{ role: 'user', content: 'hi' }] }))).toBe(false)
  })

  it('and as image_url parts holding or linking a PDF (Gemini reads those), not images', () => {
    const withImage = (url: string) => request({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] })
    expect(carriesDocuments(withImage('https://example.com/report.PDF?download=1'))).toBe(true)
    expect(carriesDocuments(withImage(`data:application/pdf;base64,${'A'.repeat(20)}`))).toBe(true)
    expect(carriesDocuments(withImage('https://example.com/photo.png'))).toBe(false)
    expect(carriesDocuments(withImage('data:image/png;base64,AAAA'))).toBe(false)
    expect(promptTokenBound(withImage('data:image/png;base64,AAAA'))).toBe(16 + IMAGE_TOKEN_BOUND)
  })
})

describe('cachesForAnHour', () => {
  const hour = { type: 'ephemeral', ttl: '1h' }
  const base: ChatRequest = { model: 'x/y', messages: [{ role: 'user', content: 'hi' }] }
  const call = { id: 'c1', type: 'function' as const, function: { name: 'f', arguments: '{}' } }

  it('finds a marker kept for an hour on the request, a tool, a content part or a tool call', () => {
    expect(cachesForAnHour({ ...base, cache_control: hour })).toBe(true)
    expect(cachesForAnHour({ ...base, tools: [{ type: 'function', function: { name: 'f' }, cache_control: hour }] })).toBe(true)
    // The Anthropic converter takes a marker on the function too, and on a legacy function.
    expect(cachesForAnHour({ ...base, tools: [{ type: 'function', function: { name: 'f', cache_control: hour } }] })).toBe(true)
    expect(cachesForAnHour({ ...base, functions: [{ name: 'f', cache_control: hour }] })).toBe(true)
    expect(cachesForAnHour({ ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: hour }] }] })).toBe(true)
    expect(cachesForAnHour({ ...base, messages: [{ role: 'assistant', content: null, tool_calls: [{ ...call, cache_control: hour }] }] })).toBe(true)
  })

  it('is false for five-minute markers and none', () => {
    expect(cachesForAnHour(base)).toBe(false)
    expect(cachesForAnHour({ ...base, cache_control: { type: 'ephemeral' } })).toBe(false)
    expect(cachesForAnHour({ ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral', ttl: '5m' } }] }] })).toBe(false)
    expect(cachesForAnHour({ ...base, messages: [{ role: 'assistant', content: null, tool_calls: [call] }] })).toBe(false)
  })
})

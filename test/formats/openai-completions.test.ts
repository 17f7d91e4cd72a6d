import { describe, expect, it } from 'vitest'
import { GatewayError, invalidInput } from '../../src/errors'
import { CompletionRequest, textCompletionRenderer } from '../../src/formats/openai/completions'
import { ChatRequest } from '../../src/formats/openai/request'

const meta = { id: 'gen-1', created: 1, model: 'test/chat', provider: 'Alpha', systemFingerprint: 'fp' }
const report = { usage: { promptTokens: 3, completionTokens: 2, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, costNano: 7_000 }
const request = ChatRequest.parse({ model: 'test/chat', messages: [{ role: 'user', content: 'x' }] })
const decoder = new TextDecoder()
const payloads = (messages: Uint8Array[]) =>
  messages.map((bytes) => decoder.decode(bytes)).map((text) => (text === 'data: [DONE]\n\n' ? '[DONE]' : (JSON.parse(text.slice('data: '.length)) as object)))

describe('legacy completion requests', () => {
  it('become a one-message chat request, other fields kept', () => {
    const body = { model: 'test/chat', prompt: 'Once upon', max_tokens: 20, stop: ['\n'], temperature: 0.5, stream: true, echo: false, logprobs: null, best_of: 1, seed: 4 }
    expect(CompletionRequest.parse(body)).toEqual({
      model: 'test/chat',
      messages: [{ role: 'user', content: 'Once upon' }],
      max_tokens: 20,
      stop: ['\n'],
      temperature: 0.5,
      stream: true,
      seed: 4,
    })
    expect(CompletionRequest.parse({ model: 'm', prompt: ['only one'] }).messages).toEqual([{ role: 'user', content: 'only one' }])
    // An empty suffix asks for nothing, as null does.
    expect(CompletionRequest.parse({ model: 'm', prompt: 'a', suffix: '' })).toEqual({ model: 'm', messages: [{ role: 'user', content: 'a' }] })
  })

  it.each([
    ['two prompts', { prompt: ['a', 'b'] }, /only one prompt/],
    ['token prompts', { prompt: [1, 2] }, /token-id prompts are not supported/],
    ['no prompt', {}, /./],
    ['echo', { prompt: 'a', echo: true }, /echo is not supported/],
    ['suffix', { prompt: 'a', suffix: 'end' }, /suffix is not supported/],
    ['best_of', { prompt: 'a', best_of: 3 }, /best_of above 1 is not supported/],
    ['logprobs', { prompt: 'a', logprobs: 5 }, /logprobs is not supported/],
    ['a chat field out of range', { prompt: 'a', temperature: 9 }, /./],
  ])('refuse %s', (_label, body, message) => {
    const parsed = CompletionRequest.safeParse({ model: 'm', ...body })
    expect(parsed.success).toBe(false)
    // As a client reads it: through the explainer of failed unions every route uses.
    expect(invalidInput('request', parsed.error?.issues ?? []).message).toMatch(message)
  })
})

describe('text_completion rendering', () => {
  it('renders the answer text with logprobs null and usage with cost', () => {
    const completion = { message: { role: 'assistant' as const, content: 'there was', refusal: null, reasoning: 'hmm' }, finishReason: 'length' as const, nativeFinishReason: 'length', usage: null }
    expect(textCompletionRenderer.json(meta, completion, report, request)).toMatchObject({
      id: 'gen-1',
      object: 'text_completion',
      created: 1,
      model: 'test/chat',
      provider: 'Alpha',
      choices: [{ text: 'there was', index: 0, logprobs: null, finish_reason: 'length' }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, cost: 0.000007 },
    })
  })

  it('streams text chunks, a finish chunk, a usage chunk and [DONE], skipping what has no text', async () => {
    const writer = textCompletionRenderer.stream(meta, request)
    const messages = [
      ...writer.event({ type: 'delta', delta: { role: 'assistant', content: '' } }),
      ...writer.event({ type: 'delta', delta: { reasoning: 'thinking' } }),
      ...writer.event({ type: 'delta', delta: { content: 'there' } }),
      ...writer.event({ type: 'finish', finishReason: 'stop', nativeFinishReason: 'stop' }),
      ...(await writer.end(report, {})),
    ]
    expect(payloads(messages)).toEqual([
      expect.objectContaining({ object: 'text_completion', choices: [{ text: 'there', index: 0, logprobs: null, finish_reason: null, native_finish_reason: null }] }),
      expect.objectContaining({ object: 'text_completion', choices: [{ text: '', index: 0, logprobs: null, finish_reason: 'stop', native_finish_reason: 'stop' }] }),
      expect.objectContaining({ object: 'text_completion', choices: [], usage: expect.objectContaining({ cost: 0.000007 }) }),
      '[DONE]',
    ])
  })

  it('gives a refusal as the text, in JSON and streams (it is what the model said instead)', async () => {
    const refused = { message: { role: 'assistant' as const, content: null, refusal: 'I cannot help with that.' }, finishReason: 'stop' as const, nativeFinishReason: 'stop', usage: null }
    expect(textCompletionRenderer.json(meta, refused, report, request)).toMatchObject({ choices: [{ text: 'I cannot help with that.' }] })
    const writer = textCompletionRenderer.stream(meta, request)
    const [chunk] = payloads(writer.event({ type: 'delta', delta: { refusal: 'I cannot' } }))
    expect(chunk).toMatchObject({ choices: [{ text: 'I cannot', finish_reason: null }] })
  })

  it('streams a failure as an error chunk with finish_reason error', () => {
    const writer = textCompletionRenderer.stream(meta, request)
    const [chunk] = payloads(writer.error(new GatewayError(502, 'provider_unavailable', 'Provider returned error')))
    expect(chunk).toMatchObject({ error: { code: 502, message: 'Provider returned error' }, choices: [{ text: '', finish_reason: 'error' }] })
  })
})

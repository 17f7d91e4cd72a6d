import { describe, expect, it } from 'vitest'
import { ZodError } from 'zod'
import { fromGemini, geminiErrorMessage } from '../../src/formats/gemini/response'
import candidateSafety from '../fixtures/gemini/candidate-safety.json'
import errorBody from '../fixtures/gemini/error-invalid-argument.json'
import functionCall from '../fixtures/gemini/function-call.json'
import promptBlocked from '../fixtures/gemini/prompt-blocked.json'
import textWithThoughts from '../fixtures/gemini/text-with-thoughts.json'

const candidate = (finishReason: string | null, parts: object[] = [{ text: 'x' }]) => ({
  candidates: [{ content: { parts, role: 'model' }, ...(finishReason ? { finishReason } : {}), index: 0 }],
  responseId: 'r1',
})

describe('fromGemini', () => {
  it('splits thought parts into reasoning and counts thoughts and cached tokens', () => {
    expect(fromGemini(textWithThoughts)).toStrictEqual({
      message: {
        role: 'assistant',
        content: 'The Eiffel Tower is about 330 metres tall, antennas included.',
        refusal: null,
        reasoning: "**Recalling the landmark's height**\n\nThe user wants the Eiffel Tower's height. With antennas it is about 330 m.\n",
      },
      finishReason: 'stop',
      nativeFinishReason: 'STOP',
      usage: { promptTokens: 2071, completionTokens: 75, cachedTokens: 2048, cacheWriteTokens: 0, reasoningTokens: 61 },
    })
  })

  it('turns functionCall parts into tool calls with stable ids and keeps their thought signature', () => {
    const completion = fromGemini(functionCall)
    expect(completion).toStrictEqual({
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: 'call_7QcxafzUHvmUkdUPrKe40AE_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' } },
          { id: 'call_7QcxafzUHvmUkdUPrKe40AE_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome","unit":"celsius"}' } },
        ],
        reasoning_details: [
          {
            type: 'reasoning.encrypted',
            id: 'call_7QcxafzUHvmUkdUPrKe40AE_0',
            data: 'CiQBcsjafJ8pN0Zr5mWc2vT3aYdLk9QhQ3xR7bE1uS4nV6oF2gKjAQGNvJ4=',
            format: 'google-gemini-v1',
            index: 0,
          },
        ],
      },
      finishReason: 'tool_calls',
      nativeFinishReason: 'STOP',
      usage: { promptTokens: 96, completionTokens: 222, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 188 },
    })
    expect(fromGemini(functionCall)).toStrictEqual(completion)
  })

  it("uses Gemini's own function call id when it sends one, and {} for missing args", () => {
    const completion = fromGemini(candidate('STOP', [{ functionCall: { id: 'fc-9', name: 'now' } }]))
    expect(completion.message.tool_calls).toStrictEqual([{ id: 'fc-9', type: 'function', function: { name: 'now', arguments: '{}' } }])
  })

  it('answers a prompt blocked for safety as an empty completion filtered by content_filter', () => {
    expect(fromGemini(promptBlocked)).toStrictEqual({
      message: { role: 'assistant', content: null, refusal: null },
      finishReason: 'content_filter',
      nativeFinishReason: 'SAFETY',
      usage: { promptTokens: 19, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
    })
  })

  it('reports a candidate stopped for safety as content_filter with no content', () => {
    const completion = fromGemini(candidateSafety)
    expect([completion.message.content, completion.finishReason, completion.nativeFinishReason]).toStrictEqual([null, 'content_filter', 'SAFETY'])
  })

  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['BLOCKLIST', 'content_filter'],
    ['PROHIBITED_CONTENT', 'content_filter'],
    ['SPII', 'content_filter'],
    ['MALFORMED_FUNCTION_CALL', 'error'],
    ['UNEXPECTED_TOOL_CALL', 'error'],
    ['OTHER', 'stop'],
    [null, 'stop'],
  ])('normalises finishReason %s to %s', (native, expected) => {
    const completion = fromGemini(candidate(native))
    expect([completion.finishReason, completion.nativeFinishReason]).toStrictEqual([expected, native])
  })

  it('keeps length over tool_calls when the output was cut short', () => {
    expect(fromGemini(candidate('MAX_TOKENS', [{ functionCall: { name: 'f', args: {} } }])).finishReason).toBe('length')
  })

  it.each([
    ['a fraction, rounded up', { promptTokenCount: 3.5, candidatesTokenCount: 2, thoughtsTokenCount: 1.2 }, { promptTokens: 4, completionTokens: 4, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 2 }],
    ['a cached count that is not one, as no cache', { promptTokenCount: 3, candidatesTokenCount: 2, cachedContentTokenCount: '3' }, { promptTokens: 3, completionTokens: 2, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }],
    ['no candidates count, from the total', { promptTokenCount: 10, thoughtsTokenCount: 4, totalTokenCount: 21 }, { promptTokens: 10, completionTokens: 11, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 4 }],
    ['no candidates count, from the total less tool-use prompt tokens', { promptTokenCount: 10, toolUsePromptTokenCount: 5, totalTokenCount: 22 }, { promptTokens: 10, completionTokens: 7, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }],
    ['no candidates count and no total, as none generated', { promptTokenCount: 10, thoughtsTokenCount: 4 }, { promptTokens: 10, completionTokens: 4, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 4 }],
    ['a total below its parts, as no candidates', { promptTokenCount: 10, totalTokenCount: 8 }, { promptTokens: 10, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }],
    // Usage the gateway cannot bill on is no usage: the request is estimated, never charged as zero.
    ['no prompt count, as none', { candidatesTokenCount: 2 }, null],
    ['a negative count, as none', { promptTokenCount: -1, candidatesTokenCount: 2 }, null],
    ['a count as a string, as none', { promptTokenCount: 3, candidatesTokenCount: '2' }, null],
    ['thoughts past 2^53, as none', { promptTokenCount: 3, thoughtsTokenCount: 1e20 }, null],
  ])('reads usage with %s', (_, usageMetadata, expected) => {
    expect(fromGemini({ ...candidate('STOP'), usageMetadata }).usage).toStrictEqual(expected)
  })

  it.each([
    ['a non-object', 'oops'],
    ['a body with neither candidates nor promptFeedback', { usageMetadata: { promptTokenCount: 1 } }],
    ['a functionCall without a name', candidate('STOP', [{ functionCall: { args: {} } }])],
  ])('throws a ZodError on %s', (_, body) => {
    expect(() => fromGemini(body)).toThrow(ZodError)
  })
})

describe('geminiErrorMessage', () => {
  it.each([
    [errorBody, errorBody.error.message],
    [{ error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } }, 'Resource has been exhausted (e.g. check quota).'],
    [[{ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } }], 'The model is overloaded. Please try again later.'],
    [{ error: { code: 500 } }, null],
    ['Bad Gateway', null],
    [null, null],
  ])('extracts the message from %j', (body, expected) => {
    expect(geminiErrorMessage(body)).toBe(expected)
  })
})

import { describe, expect, it } from 'vitest'
import { toGemini } from '../../src/formats/gemini/request'
import { ChatRequest } from '../../src/formats/openai/request'

const hi = [{ role: 'user', content: 'hi' }]

function config(request: Record<string, unknown>, options: { maxOutputTokens?: number; upstreamModel?: string } = {}) {
  const body = toGemini(ChatRequest.parse({ model: 'google/gemini-3.8-flash', messages: hi, ...request }), options)
  return body.generationConfig as Record<string, unknown> | undefined
}

describe('toGemini generationConfig', () => {
  it('renames the sampling parameters Gemini has and drops every other one', () => {
    expect(
      config(
        {
          temperature: 1.7,
          top_p: 0.9,
          top_k: 40,
          stop: 'END',
          seed: 7,
          presence_penalty: 0.5,
          frequency_penalty: -0.5,
          max_tokens: 999,
          user: 'user-42',
          logprobs: true,
          parallel_tool_calls: false,
          n: 1,
          provider: { order: ['google'] },
        },
        { maxOutputTokens: 300 },
      ),
    ).toStrictEqual({
      temperature: 1.7,
      topP: 0.9,
      topK: 40,
      stopSequences: ['END'],
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      maxOutputTokens: 300,
    })
  })

  it('passes a stop array through and sends no generationConfig when nothing is set', () => {
    expect(config({ stop: ['a', 'b'] })).toStrictEqual({ stopSequences: ['a', 'b'] })
    expect(config({})).toBeUndefined()
  })

  it.each([
    ['text', { type: 'text' }, undefined],
    ['json_object', { type: 'json_object' }, { responseMimeType: 'application/json' }],
    [
      'json_schema',
      { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false } } },
      { responseMimeType: 'application/json', responseJsonSchema: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false } },
    ],
    ['json_schema without a schema', { type: 'json_schema', json_schema: { name: 'a' } }, { responseMimeType: 'application/json' }],
  ])('maps response_format %s', (_, format, expected) => {
    expect(config({ response_format: format })).toStrictEqual(expected)
  })

  it.each([
    ['reasoning.max_tokens', { reasoning: { max_tokens: 5000 } }, { thinkingBudget: 5000, includeThoughts: true }],
    ['max_tokens over effort, raised to the least every model takes', { reasoning: { max_tokens: 100, effort: 'high' } }, { thinkingBudget: 512, includeThoughts: true }],
    ['max_tokens past the most every model takes, lowered to it', { reasoning: { max_tokens: 52_428 } }, { thinkingBudget: 24576, includeThoughts: true }],
    ['max_tokens 0, as asked (Flash turns thinking off), with no thoughts asked for', { reasoning: { max_tokens: 0 } }, { thinkingBudget: 0, includeThoughts: false }],
    ['effort low', { reasoning: { effort: 'low' } }, { thinkingBudget: 2048, includeThoughts: true }],
    ["Claude's effort max, at the top", { reasoning: { effort: 'max', max_tokens: 3000 } }, { thinkingBudget: 3000, includeThoughts: true }],
    ['effort max alone', { reasoning: { effort: 'max' } }, { thinkingBudget: 24576, includeThoughts: true }],
    ['effort high, thoughts excluded', { reasoning: { effort: 'high', exclude: true } }, { thinkingBudget: 24576, includeThoughts: false }],
    ['top-level reasoning_effort', { reasoning_effort: 'medium' }, { thinkingBudget: 8192, includeThoughts: true }],
    ['enabled alone', { reasoning: { enabled: true } }, { includeThoughts: true }],
    ['effort none', { reasoning: { effort: 'none' } }, undefined],
    ['enabled false', { reasoning: { enabled: false, max_tokens: 10 } }, undefined],
    ['exclude alone', { reasoning: { exclude: true } }, undefined],
    ['a malformed reasoning object', { reasoning: { effort: 'extreme' } }, undefined],
  ])('maps %s to thinkingConfig', (_, request, thinking) => {
    expect(config(request)?.thinkingConfig).toStrictEqual(thinking)
  })

  it.each([
    [7, 7],
    [-7, -7],
    [2 ** 31 - 1, 2 ** 31 - 1],
    [2 ** 31, -(2 ** 31)],
    [2 ** 40 + 5, 5],
  ])('sends seed %d as the int32 Gemini takes: %d', (seed, sent) => {
    expect(config({ seed })?.seed).toBe(sent)
  })

  it.each([
    ['high', 1000, 800],
    ['medium', 4000, 2000],
    ['low', 100_000, 2048],
    ['minimal', 3000, 512],
    ['max', 1000, 950],
  ] as const)("effort %s with max_tokens %d thinks on its share of the answer's tokens: %d (thoughts count within maxOutputTokens)", (effort, maxOutputTokens, budget) => {
    expect(config({ reasoning: { effort } }, { maxOutputTokens })).toMatchObject({ maxOutputTokens, thinkingConfig: { thinkingBudget: budget } })
    // The client's own budget is its to choose.
    expect(config({ reasoning: { effort, max_tokens: 5000 } }, { maxOutputTokens })?.thinkingConfig).toMatchObject({ thinkingBudget: 5000 })
  })

  it.each([
    ['gemini-2.5-flash', { thinkingBudget: 0 }],
    ['gemini-2.5-flash-lite', { thinkingBudget: 0 }],
    ['gemini-2.5-pro', { thinkingBudget: 128 }],
    ['gemini-3-flash-preview', { thinkingLevel: 'minimal' }],
    ['gemini-3.5-flash', { thinkingLevel: 'minimal' }],
    ['gemini-3.1-flash-lite', { thinkingLevel: 'minimal' }],
    // 3.7 and 3.8 Flash take low, medium and high: minimal is a 400 there.
    ['gemini-3.7-flash', { thinkingLevel: 'low' }],
    ['gemini-3.8-flash', { thinkingLevel: 'low' }],
    ['gemini-2.5-flash-image', undefined],
    ['gemini-3-pro-image-preview', undefined],
    ['gemini-3-pro-preview', { thinkingLevel: 'low' }],
    ['gemini-3.1-pro', { thinkingLevel: 'low' }],
    ['gemma-3-27b-it', undefined],
  ])('turns thinking off on %s as far as the model can', (upstreamModel, thinking) => {
    for (const request of [{ reasoning: { effort: 'none' } }, { reasoning_effort: 'none' }, { reasoning: { enabled: false } }]) {
      expect(config(request, { upstreamModel })?.thinkingConfig).toStrictEqual(thinking)
    }
  })
  it('reads include_reasoning: false as reasoning.exclude (OpenRouter’s legacy spelling), as the Claude and OpenAI paths do', () => {
    const body = toGemini(ChatRequest.parse({ model: 'google/gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }], reasoning: { effort: 'high' }, include_reasoning: false }))
    expect((body.generationConfig as Record<string, unknown>).thinkingConfig).toMatchObject({ includeThoughts: false })
  })
})

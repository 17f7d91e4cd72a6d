import { describe, expect, it } from 'vitest'
import type { StreamEvent } from '../../src/formats/canonical'
import { fromOpenAI, fromOpenAIChunk } from '../../src/formats/openai/response'
import { createOpenAIStreamDecoder } from '../../src/formats/openai/stream'

const choice = (delta: object | null, finish_reason: string | null = null) => ({ choices: [{ index: 0, delta, finish_reason }] })
const logprobs = { content: [{ token: 'Hel', logprob: -0.1, bytes: [72, 101, 108], top_logprobs: [{ token: 'Hel', logprob: -0.1, bytes: [72, 101, 108] }] }], refusal: null }
const withLogprobs = (delta: object, value: unknown = logprobs) => ({ choices: [{ index: 0, delta, finish_reason: null, logprobs: value }] })

describe('fromOpenAIChunk', () => {
  it.each([
    ['a text delta', choice({ content: 'Hel' }), [{ type: 'delta', delta: { content: 'Hel' } }]],
    ['a text delta with the role', choice({ role: 'assistant', content: 'Hi' }), [{ type: 'delta', delta: { content: 'Hi' } }]],
    ['the empty placeholder first chunk', choice({ role: 'assistant', content: '' }), []],
    ['a null content', choice({ content: null }), []],
    ['an empty tool_calls array', choice({ role: 'assistant', content: null, tool_calls: [] }), []],
    [
      'reasoning (and reasoning_content)',
      choice({ reasoning_content: 'think' }),
      [{ type: 'delta', delta: { reasoning: 'think' } }],
    ],
    ['reasoning_content beside an empty reasoning', choice({ reasoning: '', reasoning_content: 'think' }), [{ type: 'delta', delta: { reasoning: 'think' } }]],
    [
      'a tool-call fragment',
      choice({ tool_calls: [{ index: 0, function: { arguments: '{"a' } }] }),
      [{ type: 'delta', delta: { tool_calls: [{ index: 0, function: { arguments: '{"a' } }] } }],
    ],
    ['a finish', choice({}, 'length'), [{ type: 'finish', finishReason: 'length', nativeFinishReason: 'length' }]],
    [
      'text and a finish together',
      choice({ content: '!' }, 'stop'),
      [
        { type: 'delta', delta: { content: '!' } },
        { type: 'finish', finishReason: 'stop', nativeFinishReason: 'stop' },
      ],
    ],
    [
      'a usage-only chunk',
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } },
      [{ type: 'usage', usage: { promptTokens: 3, completionTokens: 4, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 } }],
    ],
    [
      'usage with a fraction, rounded up',
      { choices: [], usage: { prompt_tokens: 3.2, completion_tokens: 4 } },
      [{ type: 'usage', usage: { promptTokens: 4, completionTokens: 4, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 } }],
    ],
    // Usage sent but unreadable is unknown usage (a null event: earlier usage no longer stands).
    ['usage counted as a string, as unknown', { choices: [], usage: { prompt_tokens: '5', completion_tokens: 4 } }, [{ type: 'usage', usage: null }]],
    ['usage past 2^53, as unknown', { choices: [], usage: { prompt_tokens: 1e20, completion_tokens: 4611686018427387904 } }, [{ type: 'usage', usage: null }]],
    ['usage without completion_tokens, as unknown', { choices: [], usage: { prompt_tokens: 3 } }, [{ type: 'usage', usage: null }]],
    ['usage: null (most chunks of a stream), as no usage', { choices: [{ index: 0, delta: { role: 'assistant' } }], usage: null }, []],
    // A cache write can cost more than a plain prompt token, so a bad one makes the usage unknown; a
    // bad cached count only loses a discount.
    ['usage whose cache writes are a string, as unknown', { choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, prompt_tokens_details: { cache_write_tokens: '2' } } }, [{ type: 'usage', usage: null }]],
    [
      'usage whose cached count is a string, as no cache',
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, prompt_tokens_details: { cached_tokens: '2', cache_write_tokens: 1.5 } } },
      [{ type: 'usage', usage: { promptTokens: 3, completionTokens: 4, cachedTokens: 0, cacheWriteTokens: 2, reasoningTokens: 0 } }],
    ],
    [
      'usage whose cached count is a fraction, rounded up',
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 1.5 } } },
      [{ type: 'usage', usage: { promptTokens: 3, completionTokens: 4, cachedTokens: 2, cacheWriteTokens: 0, reasoningTokens: 0 } }],
    ],
    [
      'a delta whose passed-on fields nest too deep to render',
      choice({ content: 'x', annotations: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) as unknown }),
      [{ type: 'error', message: 'Upstream sent a stream chunk nested deeper than 64 levels', raw: null }],
    ],
    ['a text delta with its logprobs', withLogprobs({ content: 'Hel' }), [{ type: 'delta', delta: { content: 'Hel' }, logprobs }]],
    ['logprobs beside an empty delta', withLogprobs({ role: 'assistant', content: '' }), [{ type: 'delta', delta: {}, logprobs }]],
    ['malformed logprobs, left out', withLogprobs({ content: 'Hel' }, 'garbage'), [{ type: 'delta', delta: { content: 'Hel' } }]],
    [
      'logprobs nested too deep to render, left out',
      withLogprobs({ content: 'Hel' }, { content: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) as unknown }),
      [{ type: 'delta', delta: { content: 'Hel' } }],
    ],
    ['an error', { error: { message: 'overloaded' } }, [{ type: 'error', message: 'overloaded', raw: { message: 'overloaded' } }]],
    ['an error with its status', { error: { message: 'slow down', code: 429 } }, [{ type: 'error', message: 'slow down', raw: { message: 'slow down', code: 429 }, status: 429 }]],
    ['an error whose code is a word', { error: { message: 'no', code: 'server_error' } }, [{ type: 'error', message: 'no', raw: { message: 'no', code: 'server_error' } }]],
    ['an error as a string', { error: 'overloaded' }, [{ type: 'error', message: 'overloaded', raw: 'overloaded' }]],
    ['garbage', 'not json', [{ type: 'error', message: 'Upstream sent a malformed stream chunk', raw: 'not json' }]],
  ])('decodes %s', (_label, body, events) => {
    expect(fromOpenAIChunk(body)).toEqual(events)
  })
})

describe('fromOpenAI', () => {
  it("keeps the choice's logprobs as sent, and leaves out malformed ones", () => {
    const answer = (value: unknown) => ({ choices: [{ message: { role: 'assistant', content: 'Hel' }, finish_reason: 'stop', logprobs: value }] })
    expect(fromOpenAI(answer(logprobs)).logprobs).toEqual(logprobs)
    expect(fromOpenAI(answer(7))).not.toHaveProperty('logprobs')
    expect(fromOpenAI(answer(null))).not.toHaveProperty('logprobs')
  })

  it('reads reasoning_content when reasoning is there but empty', () => {
    const completion = fromOpenAI({ choices: [{ message: { role: 'assistant', content: '4', reasoning: '', reasoning_content: 'think' }, finish_reason: 'stop' }] })
    expect(completion.message.reasoning).toBe('think')
  })

  it('makes up the id of a tool call a server left out or empty, each its own', () => {
    const call = (name: string) => ({ type: 'function', function: { name, arguments: '{}' } })
    const completion = fromOpenAI({ choices: [{ message: { role: 'assistant', content: null, tool_calls: [call('a'), { ...call('b'), id: '' }, { ...call('c'), id: 'call_kept' }] }, finish_reason: 'tool_calls' }] })
    const ids = completion.message.tool_calls!.map((toolCall) => toolCall.id)
    expect(ids[0]).toMatch(/^call_[0-9a-f]{32}$/)
    expect(ids[1]).toMatch(/^call_[0-9a-f]{32}$/)
    expect(ids[0]).not.toBe(ids[1])
    expect(ids[2]).toBe('call_kept')
  })

  it('gives a tool call with empty arguments {}, as OpenAI sends for a call without parameters', () => {
    const completion = fromOpenAI({
      choices: [{ message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_n', type: 'function', function: { name: 'now', arguments: '' } }] }, finish_reason: 'tool_calls' }],
    })
    expect(completion.message.tool_calls).toEqual([{ id: 'call_n', type: 'function', function: { name: 'now', arguments: '{}' } }])
  })
})

describe('createOpenAIStreamDecoder', () => {
  const call = (index: number, id: string | null, args: string) => choice({ tool_calls: [{ index, ...(id ? { id, function: { name: 'f', arguments: args } } : { function: { arguments: args } }) }] })
  const indices = (events: StreamEvent[]) => events.flatMap((event) => (event.type === 'delta' ? (event.delta.tool_calls ?? []).map((delta) => [delta.index, delta.id ?? null, delta.function?.arguments]) : []))

  it('keeps the extra_content Gemini’s OpenAI-compatible API puts on a call (its thought signature), streamed or not', () => {
    const extra = { google: { thought_signature: 'c2lnbmVk' } }
    const streamed = createOpenAIStreamDecoder()(choice({ tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' }, extra_content: extra }] }))
    expect(streamed).toEqual([{ type: 'delta', delta: { tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' }, extra_content: extra }] } }])
    const whole = fromOpenAI({ choices: [{ message: { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' }, extra_content: extra }] }, finish_reason: 'tool_calls' }] })
    expect(whole.message.tool_calls![0]).toMatchObject({ extra_content: extra })
  })

  it('numbers the calls again when an upstream gives parallel ones the same index, telling them apart by id', () => {
    const decode = createOpenAIStreamDecoder()
    const events = [call(0, 'c1', '{"a":'), call(0, null, '1}'), call(0, 'c2', '{"a":2}'), call(0, 'c2', ''), choice({}, 'tool_calls')].flatMap(decode)
    expect(indices(events)).toEqual([
      [0, 'c1', '{"a":'],
      [0, null, '1}'],
      [1, 'c2', '{"a":2}'],
      [1, 'c2', ''],
    ])
  })

  it('keeps the numbers of calls an upstream numbers itself, and gives those without arguments {} before the next call opens', () => {
    const decode = createOpenAIStreamDecoder()
    const events = [call(0, 'c1', ''), call(1, 'c2', '{"a":2}'), choice({}, 'tool_calls')].flatMap(decode)
    expect(indices(events)).toEqual([
      [0, 'c1', ''],
      [0, null, '{}'],
      [1, 'c2', '{"a":2}'],
    ])
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'tool_calls', nativeFinishReason: 'tool_calls' })
  })

  it('gives a call whose arguments were only whitespace {} before the finish too', () => {
    const decode = createOpenAIStreamDecoder()
    const events = [call(0, 'c1', ' '), choice({}, 'tool_calls')].flatMap(decode)
    expect(indices(events)).toEqual([
      [0, 'c1', ' '],
      [0, null, '{}'],
    ])
  })

  it('gives a call that opens without an id one, with its type, and keeps it when the upstream names the call later', () => {
    const decode = createOpenAIStreamDecoder()
    const events = [call(0, null, '{"a":'), call(0, 'late', '1}'), call(1, null, '{}'), choice({}, 'tool_calls')].flatMap(decode)
    const fragments = events.flatMap((event) => (event.type === 'delta' ? (event.delta.tool_calls ?? []) : []))
    expect(fragments.map((fragment) => [fragment.index, fragment.function?.arguments])).toEqual([
      [0, '{"a":'],
      [0, '1}'],
      [1, '{}'],
    ])
    expect(fragments[0]).toMatchObject({ id: expect.stringMatching(/^call_[0-9a-f]{32}$/), type: 'function' })
    expect(fragments[1]!.id).toBeUndefined()
    expect(fragments[2]).toMatchObject({ id: expect.stringMatching(/^call_/), type: 'function' })
    expect(fragments[2]!.id).not.toBe(fragments[0]!.id)
  })

  it('reads calls sent without an index (Gemini’s OpenAI-compatible stream) by their place, told apart by id', () => {
    const decode = createOpenAIStreamDecoder()
    const indexless = (id: string | null, args: string) => choice({ tool_calls: [{ ...(id ? { id, type: 'function', function: { name: 'f', arguments: args } } : { function: { arguments: args } }) }] })
    const events = [indexless('g1', '{"a":'), indexless(null, '1}'), indexless('g2', '{"b":2}'), choice({}, 'tool_calls')].flatMap(decode)
    expect(indices(events)).toEqual([
      [0, 'g1', '{"a":'],
      [0, null, '1}'],
      [1, 'g2', '{"b":2}'],
    ])
  })

  it('reads a stop after calls (as Gemini’s OpenAI-compatible stream ends one) as finishing for them, keeping the native reason', () => {
    const decode = createOpenAIStreamDecoder()
    const events = [call(0, 'c1', '{}'), choice({}, 'stop')].flatMap(decode)
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'tool_calls', nativeFinishReason: 'stop' })
    const answer = fromOpenAI({ choices: [{ message: { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'stop' }] })
    expect(answer).toMatchObject({ finishReason: 'tool_calls', nativeFinishReason: 'stop' })
  })

  it('passes a stream without calls through as fromOpenAIChunk decodes it', () => {
    const decode = createOpenAIStreamDecoder()
    for (const chunk of [choice({ content: 'Hi' }), choice({}, 'stop')]) expect(decode(chunk)).toEqual(fromOpenAIChunk(chunk))
  })
})

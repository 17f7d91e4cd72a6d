import { describe, expect, it } from 'vitest'
import { fromOpenAI, fromOpenAIChunk } from '../../src/formats/openai/response'
import type { ChatRequest } from '../../src/formats/openai/request'
import { send } from './support'

/** Presets against their providers' own API documentation: what goes out, and how the answer is read. */

const base: ChatRequest = { model: 'x/y', messages: [{ role: 'user', content: 'hi' }] }

describe('mistral', () => {
  it("reads a reasoning answer, whose content is Mistral's list of thinking and text chunks", () => {
    const completion = fromOpenAI({
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: [{ type: 'text', text: 'Let me think.' }] },
              { type: 'text', text: 'Paris.' },
            ],
          },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
    })
    expect(completion.message).toMatchObject({ content: 'Paris.', reasoning: 'Let me think.' })
  })

  it('reads a streamed thinking chunk as reasoning and a text chunk as content, not as malformed chunks', () => {
    const thinking = { choices: [{ index: 0, delta: { content: [{ type: 'thinking', thinking: [{ type: 'text', text: 'Hmm' }] }] }, finish_reason: null }] }
    expect(fromOpenAIChunk(thinking)).toEqual([{ type: 'delta', delta: { reasoning: 'Hmm' } }])
    const text = { choices: [{ index: 0, delta: { content: [{ type: 'text', text: 'Paris' }] }, finish_reason: null }] }
    expect(fromOpenAIChunk(text)).toEqual([{ type: 'delta', delta: { content: 'Paris' } }])
  })

  it("reads finish_reason model_length (the model's context was reached) as length, not stop", () => {
    expect(fromOpenAI({ choices: [{ index: 0, message: { role: 'assistant', content: 'cut' }, finish_reason: 'model_length' }] }).finishReason).toBe('length')
  })

  it('sends tool-call ids as Mistral takes them (nine letters or digits), the call and its result alike', async () => {
    const sent = new Set<string>()
    for (const id of ['call_Xq3nYb0cR8aXk2LmP9sT1uVw', 'toolu_01A09q90qw90lq917835lq9', 'abcDEF123']) {
      const request: ChatRequest = {
        ...base,
        messages: [
          { role: 'user', content: 'weather?' },
          { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'weather', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: id, content: 'sunny' },
        ],
      }
      const messages = (await send(request, { preset: 'mistral' })).body.messages as Array<Record<string, any>>
      const sentId = messages[1]!.tool_calls[0].id as string
      expect(sentId).toMatch(/^[A-Za-z0-9]{9}$/)
      expect(messages[2]!.tool_call_id).toBe(sentId)
      sent.add(sentId)
    }
    expect([...sent].at(-1)).toBe('abcDEF123')
    expect(sent.size).toBe(3)
  })
})

describe('openai', () => {
  it("sends no parallel_tool_calls or tool_choice without tools (\"only allowed when 'tools' are specified\")", async () => {
    for (const tools of [undefined, []]) {
      const { body } = await send({ ...base, ...(tools ? { tools } : {}), parallel_tool_calls: false, tool_choice: 'none' }, { preset: 'openai' })
      expect(body).not.toHaveProperty('parallel_tool_calls')
      expect(body).not.toHaveProperty('tool_choice')
      expect(body).not.toHaveProperty('tools')
    }
  })
})

describe('fireworks', () => {
  it("sends OpenRouter's reasoning as reasoning_effort, and no reasoning object or message field (\"Extra inputs are not permitted\")", async () => {
    const request: ChatRequest = {
      ...base,
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello', reasoning: 'greeting' },
        { role: 'user', content: 'again' },
      ],
      reasoning: { effort: 'high' },
    }
    const { body } = await send(request, { preset: 'fireworks' })
    expect(body).not.toHaveProperty('reasoning')
    expect(body.reasoning_effort).toBe('high')
    expect((body.messages as Array<Record<string, unknown>>)[1]).not.toHaveProperty('reasoning')
  })
})

describe('deepseek', () => {
  it('sends max_completion_tokens as max_tokens, the only cap DeepSeek documents', async () => {
    const { body } = await send({ ...base, max_completion_tokens: 50 }, { preset: 'deepseek' })
    expect(body.max_tokens).toBe(50)
    expect(body).not.toHaveProperty('max_completion_tokens')
  })

  it('reads finish_reason insufficient_system_resource (the generation was cut off) as an error, not a normal stop', () => {
    const completion = fromOpenAI({ choices: [{ index: 0, message: { role: 'assistant', content: 'The answer is' }, finish_reason: 'insufficient_system_resource' }] })
    expect(completion.finishReason).toBe('error')
  })
})

describe('azure (api-version 2024-10-21)', () => {
  it('sends max_tokens as max_completion_tokens, which 2024-10-21 defines (max_tokens "is not compatible with o1 series models")', async () => {
    const { url, body } = await send({ ...base, max_tokens: 100 }, { preset: 'azure' })
    expect(url).toContain('api-version=2024-10-21')
    expect(body.max_completion_tokens).toBe(100)
    expect(body).not.toHaveProperty('max_tokens')
  })
})

import { describe, expect, it } from 'vitest'
import { ALPHA } from '../support/catalog'
import { chat, type ErrorJson, readSse, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion, openaiStreamEvents, sseResponse } from '../support/upstream'

const tenant = setUpGateway()

const complete = (body: object, path = '/v1/completions') => chat(tenant.key, body, path)

describe('POST /v1/completions (legacy)', () => {
  it('sends the prompt as one user message and answers a text_completion with cost', async () => {
    const upstream = fakeUpstreams({
      [ALPHA]: () => jsonResponse(openaiCompletion({ content: ' there was a fox.', finish_reason: 'length', usage: { prompt_tokens: 5, completion_tokens: 20 } })),
    })
    const response = await complete({ model: 'test/chat', prompt: 'Once upon a time', max_tokens: 20, stop: ['\n'], temperature: 0.7 })
    expect(response.status).toBe(200)
    expect(upstream.calls[0]!.url).toBe(`${ALPHA}/chat/completions`)
    expect(upstream.calls[0]!.body).toEqual({
      model: 'alpha-chat',
      messages: [{ role: 'user', content: 'Once upon a time' }],
      max_tokens: 20,
      stop: ['\n'],
      temperature: 0.7,
      stream: false,
    })
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toMatchObject({
      id: response.headers.get('x-generation-id'),
      object: 'text_completion',
      model: 'test/chat',
      provider: 'Alpha',
      // 5 × $1/M + 20 × $2/M
      usage: { prompt_tokens: 5, completion_tokens: 20, total_tokens: 25, cost: 0.000045 },
    })
    expect(body.choices).toEqual([{ text: ' there was a fox.', index: 0, logprobs: null, finish_reason: 'length', native_finish_reason: 'length' }])
  })

  it('accepts a one-element prompt array on /api/v1, and refuses two prompts', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    expect((await complete({ model: 'test/chat', prompt: ['Hi'] }, '/api/v1/completions')).status).toBe(200)
    const refused = await complete({ model: 'test/chat', prompt: ['a', 'b'] })
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as ErrorJson).error.message).toMatch(/only one prompt/)
  })

  it('streams text_completion chunks, a finish chunk, a usage chunk with cost, then [DONE]', async () => {
    fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['Once', ' upon', ' a time'], { usage: { prompt_tokens: 1000, completion_tokens: 3 } })) })
    const response = await complete({ model: 'test/chat', prompt: 'Tell me', stream: true })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const { data, done } = await readSse(response)
    expect(done).toBe(true)
    const id = response.headers.get('x-generation-id')
    for (const chunk of data) expect(chunk).toMatchObject({ id, object: 'text_completion', model: 'test/chat', provider: 'Alpha' })
    const choices = data.map((chunk) => chunk.choices as { text: string; index: number; finish_reason: string | null }[])
    expect(choices.flatMap((list) => list.map((choice) => choice.text)).join('')).toBe('Once upon a time')
    expect(choices.at(-2)).toEqual([{ text: '', index: 0, logprobs: null, finish_reason: 'stop', native_finish_reason: 'stop' }])
    expect(data.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 1000, completion_tokens: 3, cost: 0.001006 } })
  })
})

import { describe, expect, it, vi } from 'vitest'
import { chat, createKey, gatewayFetch, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'
import { GAMMA } from '../support/catalog'

setUpGateway()

/** `{"a":{"a":…1…}}`, `depth` objects deep: valid JSON text, as a model's tool-call arguments. */
const deepJson = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)

const answeringWith = (args: string) =>
  fakeUpstreams({
    [GAMMA]: () =>
      jsonResponse(openaiCompletion({ content: null, finish_reason: 'tool_calls', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: args } }] })),
  })

describe('an upstream tool call whose arguments nest very deeply', () => {
  it('is rendered on /v1/messages with an empty input, as malformed arguments are, and the key is settled', async () => {
    const { key } = await createKey({ name: 'deep-args', limit: 1 })
    answeringWith(deepJson(10_000))
    const response = await chat(key, { model: 'test/other', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, '/v1/messages')
    expect(response.status).toBe(200)
    expect(((await response.json()) as { content: unknown[] }).content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'f', input: {} }])
    await vi.waitFor(
      async () => {
        const view = ((await (await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })).json()) as { data: { reserved: number; requests_in_flight: number } }).data
        expect(view).toMatchObject({ reserved: 0, requests_in_flight: 0 })
      },
      { timeout: 5_000 },
    )
  })

  it('keeps arguments of an ordinary depth, and passes deep ones through /v1/chat/completions as the string they are', async () => {
    const { key } = await createKey({ name: 'deep-args-chat' })
    answeringWith(deepJson(20))
    const shallow = await chat(key, { model: 'test/other', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, '/v1/messages')
    expect(((await shallow.json()) as { content: { input: unknown }[] }).content[0]!.input).toEqual(JSON.parse(deepJson(20)))
    answeringWith(deepJson(10_000))
    const response = await chat(key, { model: 'test/other', messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { choices: { message: { tool_calls: { function: { arguments: string } }[] } }[] }
    expect(body.choices[0]!.message.tool_calls[0]!.function.arguments).toBe(deepJson(10_000))
  })
})

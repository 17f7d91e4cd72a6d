import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { KeyDO } from '../../src/tenancy/key-do'
import { insertResponse, MAX_CHAIN } from '../../src/tenancy/stored-responses'
import { GAMMA } from '../support/catalog'
import { createKey, type ErrorJson, gatewayFetch, namedEvents, setUpGateway } from '../support/gateway'
import { data, fakeUpstreams, jsonResponse, openaiCompletion, sseResponse } from '../support/upstream'

/** Continuing stored responses that ended early, listing what they held, and how long a chain may be. */
const tenant = setUpGateway()
type Json = Record<string, any>

function post(body: object, key = tenant.key): Promise<Response> {
  return gatewayFetch('/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
}
const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }]

describe('a stored response cut off inside a function call', () => {
  it('is continued by previous_response_id when max_output_tokens ran out (incomplete), the call sent with arguments {}', async () => {
    const upstream = fakeUpstreams({
      [GAMMA]: () =>
        jsonResponse(
          upstream.calls.length === 1
            ? openaiCompletion({ content: null, finish_reason: 'length', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Os' } }] })
            : openaiCompletion({ content: 'Sorry, let me try again.' }),
        ),
    })
    const first = (await (await post({ model: 'test/other', input: 'Weather in Oslo?', tools, max_output_tokens: 5 })).json()) as Json
    expect(first).toMatchObject({ status: 'incomplete', store: true, incomplete_details: { reason: 'max_output_tokens' } })
    const next = await post({ model: 'test/other', previous_response_id: first.id, input: [{ type: 'function_call_output', call_id: 'call_1', output: 'error: arguments cut off' }], tools })
    expect(next.status).toBe(200)
    const sent = upstream.calls[1]!.body as { messages: Json[] }
    expect(sent.messages[1]).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_1', function: { name: 'get_weather', arguments: '{}' } }] })
  })

  it('is continued when its stream failed mid-call', async () => {
    let n = 0
    fakeUpstreams({
      [GAMMA]: () =>
        n++ === 0
          ? sseResponse(
              [
                data({ choices: [{ index: 0, delta: { role: 'assistant', content: 'Let me check.' }, finish_reason: null }] }),
                data({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"ci' } }] }, finish_reason: null }] }),
              ],
              { failAfter: 2 },
            )
          : jsonResponse(openaiCompletion({ content: 'ok' })),
    })
    const events = namedEvents(await (await post({ model: 'test/other', input: 'Weather?', tools, stream: true })).text())
    const failed = events.at(-1)!.response as Json
    expect(failed).toMatchObject({ status: 'failed', store: true })
    const next = await post({ model: 'test/other', previous_response_id: failed.id, input: [{ type: 'function_call_output', call_id: 'call_1', output: 'n/a' }, { role: 'user', content: 'Try again' }], tools })
    expect(next.status).toBe(200)
  })
})

describe('input_items', () => {
  it("lists an assistant message's output_text with annotations and logprobs, as the response itself renders it", async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'Hello there.' })) })
    const first = (await (await post({ model: 'test/other', input: 'Hi' })).json()) as Json
    // As @ai-sdk/openai sends an earlier answer with store on (an item_reference), and as a client sends one of its own.
    const input = [{ role: 'user', content: 'Hi' }, { type: 'item_reference', id: first.output[0].id }, { role: 'assistant', content: 'Earlier.' }, { role: 'user', content: 'And?' }]
    const second = (await (await post({ model: 'test/other', input })).json()) as Json
    const page = (await (await gatewayFetch(`/v1/responses/${second.id}/input_items?order=asc`, { headers: { authorization: `Bearer ${tenant.key}` } })).json()) as Json
    const parts = page.data.filter((item: Json) => item.role === 'assistant').map((item: Json) => item.content[0])
    expect(first.output[0].content[0]).toEqual({ type: 'output_text', text: 'Hello there.', annotations: [], logprobs: [] })
    expect(parts).toEqual([
      { type: 'output_text', text: 'Hello there.', annotations: [], logprobs: [] },
      { type: 'output_text', text: 'Earlier.', annotations: [], logprobs: [] },
    ])
  })
})

describe('a chain of previous responses', () => {
  async function chainOf(length: number): Promise<{ key: string; last: string }> {
    const { key, hash } = await createKey({ name: `chain of ${length}` })
    const stub = env.KEYS.get(env.KEYS.idFromName(hash)) as DurableObjectStub<KeyDO>
    const seconds = Math.floor(Date.now() / 1000) - 3600
    const ids = Array.from({ length }, (_, i) => `gen-${seconds}-chain${String(i).padStart(5, '0')}`)
    await runInDurableObject(stub, (_instance, state) => {
      ids.forEach((id, i) => {
        const input = JSON.stringify([{ type: 'message', role: 'user', content: `turn ${i}` }])
        const response = JSON.stringify({ id, object: 'response', output: [{ type: 'message', id: `msg_${id}_0`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok' }] }] })
        insertResponse(state.storage.sql, { id, previous: i === 0 ? null : ids[i - 1]!, input, response, bytes: input.length + response.length })
      })
    })
    return { key, last: ids.at(-1)! }
  }

  it(`is followed back ${MAX_CHAIN} responses; a longer one is refused for its length, not its size`, async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'ok' })) })
    const within = await chainOf(MAX_CHAIN)
    expect((await post({ model: 'test/other', previous_response_id: within.last, input: 'next' }, within.key)).status).toBe(200)
    const past = await chainOf(MAX_CHAIN + 1)
    const refused = await post({ model: 'test/other', previous_response_id: past.last, input: 'next' }, past.key)
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as ErrorJson).error.message).toContain(`its conversation is more than ${MAX_CHAIN} stored responses long`)
  })
})

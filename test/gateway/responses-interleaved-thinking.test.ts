import { describe, expect, it } from 'vitest'
import { BETA } from '../support/catalog'
import { gatewayFetch, namedEvents, setUpGateway } from '../support/gateway'
import { anthropicEvent as event, fakeUpstreams, jsonResponse, sseResponse } from '../support/upstream'

/**
 * Claude's interleaved thinking on /v1/responses: the answer's items keep Claude's order, and the
 * turn goes back to Claude as it came, whether sent back in `input` or by `previous_response_id`
 * (Anthropic refuses a latest assistant turn whose thinking moved).
 */
const tenant = setUpGateway()
type Json = Record<string, any>

const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }]
const turn = [
  { type: 'thinking', thinking: 'First a.', signature: 'sig-1' },
  { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: { city: 'a' } },
  { type: 'thinking', thinking: 'Now b.', signature: 'sig-2' },
  { type: 'redacted_thinking', data: 'opaque' },
  { type: 'text', text: 'Reading b.' },
  { type: 'tool_use', id: 'toolu_b', name: 'get_weather', input: { city: 'b' } },
]
const message = (content: object[], stop_reason: string) => ({
  id: 'msg_up', type: 'message', role: 'assistant', model: 'claude-test', content, stop_reason, stop_sequence: null, usage: { input_tokens: 9, output_tokens: 20 },
})
const ask = { model: 'test/claude', tools, reasoning: { effort: 'low' }, max_output_tokens: 4000 }

function post(body: object): Promise<Response> {
  return gatewayFetch('/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

const streamed = () =>
  sseResponse([
    event('message_start', { message: { ...message([], null as never), usage: { input_tokens: 9, output_tokens: 1 } } }),
    ...turn.flatMap((block, index) => {
      const start =
        block.type === 'thinking' ? { type: 'thinking', thinking: '', signature: '' } : block.type === 'text' ? { type: 'text', text: '' } : block.type === 'tool_use' ? { ...block, input: {} } : block
      const deltas =
        block.type === 'thinking'
          ? [{ type: 'thinking_delta', thinking: block.thinking }, { type: 'signature_delta', signature: block.signature }]
          : block.type === 'text'
            ? [{ type: 'text_delta', text: block.text }]
            : block.type === 'tool_use'
              ? [{ type: 'input_json_delta', partial_json: JSON.stringify(block.input) }]
              : []
      return [event('content_block_start', { index, content_block: start }), ...deltas.map((delta) => event('content_block_delta', { index, delta })), event('content_block_stop', { index })]
    }),
    event('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } }),
    event('message_stop', {}),
  ])

const results = [
  { type: 'function_call_output', call_id: 'toolu_a', output: 'A' },
  { type: 'function_call_output', call_id: 'toolu_b', output: 'B' },
]
const sentTurn = (body: unknown) => (body as { messages: { role: string; content: object[] }[] }).messages[1]!.content

describe('interleaved thinking on /v1/responses', () => {
  it('is answered in JSON as items in Claude’s order, and goes back as it came by previous_response_id and in input', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(upstream.calls.length === 1 ? message(turn, 'tool_use') : message([{ type: 'text', text: 'Done.' }], 'end_turn')) })
    const first = (await (await post({ ...ask, input: 'Weather in a and b?' })).json()) as Json
    expect(first.output.map((item: Json) => item.type)).toEqual(['reasoning', 'function_call', 'reasoning', 'message', 'function_call'])
    expect(first.output[0].summary).toEqual([{ type: 'summary_text', text: 'First a.' }])
    expect(first.output[2].summary).toEqual([{ type: 'summary_text', text: 'Now b.' }])

    expect((await post({ ...ask, previous_response_id: first.id, input: results })).status).toBe(200)
    expect(sentTurn(upstream.calls[1]!.body)).toEqual(turn)

    const stateless = [{ role: 'user', content: 'Weather in a and b?' }, ...first.output, ...results]
    expect((await post({ ...ask, store: false, input: stateless })).status).toBe(200)
    expect(sentTurn(upstream.calls[2]!.body)).toEqual(turn)
  })

  it('streams as items in Claude’s order, which go back as they came', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => (upstream.calls.length === 1 ? streamed() : jsonResponse(message([{ type: 'text', text: 'Done.' }], 'end_turn'))) })
    const events = namedEvents(await (await post({ ...ask, input: 'Weather in a and b?', stream: true })).text())
    const done = events.at(-1)!.response as Json
    expect(done.output.map((item: Json) => item.type)).toEqual(['reasoning', 'function_call', 'reasoning', 'message', 'function_call'])
    expect((await post({ ...ask, previous_response_id: done.id, input: results })).status).toBe(200)
    expect(sentTurn(upstream.calls[1]!.body)).toEqual(turn)
  })
})

import { describe, expect, it } from 'vitest'
import { BETA } from '../support/catalog'
import { gatewayFetch, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse } from '../support/upstream'

/**
 * OpenAI's Responses API takes one turn's parallel calls sent back either all calls then all
 * outputs, or each call followed by its output (a loop over `response.output`). Both are one
 * assistant turn upstream: split into turns, Claude would see parallel calls as sequential and,
 * the second turn lacking its thinking, have thinking turned off for the rest of the loop.
 */

const tenant = setUpGateway()
const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }]
const responses = (body: object) =>
  gatewayFetch('/v1/responses', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.key}` }, body: JSON.stringify(body) })
const claude = (content: object[], stop: string) => ({ id: 'msg_up', type: 'message', role: 'assistant', model: 'claude-test', content, stop_reason: stop, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 5 } })

describe('/v1/responses: parallel calls sent back each followed by its output', () => {
  it('are one assistant turn upstream, and Claude keeps thinking on', async () => {
    const toolA = { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: { city: 'Oslo' } }
    const toolB = { type: 'tool_use', id: 'toolu_b', name: 'get_weather', input: { city: 'Rome' } }
    const upstream = fakeUpstreams({
      [BETA]: (call) =>
        jsonResponse(
          (call.body.messages as unknown[]).length === 1
            ? claude([{ type: 'thinking', thinking: 'Two cities.', signature: 'sig-1' }, toolA, toolB], 'tool_use')
            : claude([{ type: 'text', text: 'Oslo 5C, Rome 20C.' }], 'end_turn'),
        ),
    })
    const first = { model: 'test/claude', tools, reasoning: { effort: 'low' }, max_output_tokens: 4000, store: false }
    const out = (await (await responses({ ...first, input: 'Weather in Oslo and Rome?' })).json()) as { output: Array<Record<string, string>> }
    const [thought, a, b] = out.output
    expect(out.output.map((item) => item.type)).toEqual(['reasoning', 'function_call', 'function_call'])
    const next = await responses({
      ...first,
      input: [
        { role: 'user', content: 'Weather in Oslo and Rome?' },
        thought,
        a,
        { type: 'function_call_output', call_id: a!.call_id, output: '5C' },
        b,
        { type: 'function_call_output', call_id: b!.call_id, output: '20C' },
      ],
    })
    expect(next.status).toBe(200)
    const sent = upstream.calls[1]!.body as { thinking?: unknown; messages: Array<{ role: string; content: Array<{ type: string }> }> }
    expect(sent.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user'])
    expect(sent.messages[1]!.content.map((block) => block.type)).toEqual(['thinking', 'tool_use', 'tool_use'])
    expect(sent.messages[2]!.content.map((block) => block.type)).toEqual(['tool_result', 'tool_result'])
    expect(sent.thinking).toMatchObject({ type: 'enabled' })
  })

  it('keeps calls of different responses, each answered before the next, as separate turns', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(claude([{ type: 'text', text: 'Done.' }], 'end_turn')) })
    const call = (response: string, id: string, city: string) => ({ type: 'function_call', id: `fc_${response}_0`, call_id: id, name: 'get_weather', arguments: JSON.stringify({ city }) })
    const response = await responses({
      model: 'test/claude',
      tools,
      store: false,
      input: [
        { role: 'user', content: 'Oslo, then Rome?' },
        call('gen-1795500667-AbC1', 'call_a', 'Oslo'),
        { type: 'function_call_output', call_id: 'call_a', output: '5C' },
        call('gen-1795500668-DeF2', 'call_b', 'Rome'),
        { type: 'function_call_output', call_id: 'call_b', output: '20C' },
      ],
    })
    expect(response.status).toBe(200)
    const sent = upstream.calls[0]!.body as { messages: Array<{ role: string }> }
    expect(sent.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user'])
  })
})

import { describe, expect, it } from 'vitest'
import { GEMINI, geminiModel, withGemini } from '../fixtures/gemini/catalog'
import { BETA, testCatalog } from '../support/catalog'
import { gatewayFetch, namedEvents, setUpGateway } from '../support/gateway'
import { anthropicEvent as event, data, fakeUpstreams, jsonResponse, sseResponse } from '../support/upstream'

/**
 * /v1/responses served by providers that do not speak OpenAI's format (Anthropic, Gemini), as
 * Codex-style clients drive it: stateless (`store: false`), the output sent back in `input` with
 * the calls' outputs.
 */
const catalog = withGemini(testCatalog, geminiModel('gemini-3-pro', ['tools', 'tool_choice', 'max_tokens', 'reasoning']))
const tenant = setUpGateway(catalog)
type Json = Record<string, any>

const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }]
const post = (body: object) => gatewayFetch('/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
const claudeMessage = (content: object[], stop_reason: string | null) => ({ id: 'msg_up', type: 'message', role: 'assistant', model: 'claude-test', content, stop_reason, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 5 } })
const claudeStart = event('message_start', { message: { ...claudeMessage([], null), usage: { input_tokens: 10, output_tokens: 1 } } })
const geminiChunk = (parts: object[], extra: object = {}) =>
  data({ candidates: [{ content: { role: 'model', parts }, index: 0, ...extra }], responseId: 'r1', usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 } })

describe('/v1/responses from Claude: a call cut off by max_output_tokens', () => {
  it('can be continued statelessly, as it can by previous_response_id', async () => {
    const upstream = fakeUpstreams({
      [BETA]: (call) =>
        (call.body.messages as unknown[]).length > 1
          ? jsonResponse(claudeMessage([{ type: 'text', text: 'Which city?' }], 'end_turn'))
          : sseResponse([
              claudeStart,
              event('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: {} } }),
              event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"city": "Os' } }),
              event('message_delta', { delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 16 } }),
              event('message_stop', {}),
            ]),
    })
    const first = { model: 'test/claude', tools, max_output_tokens: 16 }
    const cut = namedEvents(await (await post({ ...first, input: 'Weather?', stream: true })).text()).at(-1)!.response as Json
    expect(cut).toMatchObject({ status: 'incomplete', output: [{ type: 'function_call', call_id: 'toolu_a', arguments: '{"city": "Os', status: 'incomplete' }] })
    const retry = [{ type: 'function_call_output', call_id: 'toolu_a', output: 'error: arguments cut off' }, { role: 'user', content: 'Try again.' }]

    expect((await post({ ...first, previous_response_id: cut.id, input: retry })).status).toBe(200)
    const stateless = await post({ ...first, store: false, input: [{ role: 'user', content: 'Weather?' }, ...cut.output, ...retry] })
    expect(stateless.status).toBe(200)
    expect(upstream.calls.at(-1)!.body.messages).toMatchObject([{ role: 'user' }, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_a', input: {} }] }, { role: 'user' }])
  })

  it('still refuses arguments that are not a JSON object in a call that says it was whole', async () => {
    const response = await post({ model: 'test/claude', tools, store: false, input: [{ role: 'user', content: 'Weather?' }, { type: 'function_call', call_id: 'c1', name: 'get_weather', arguments: '{"city": "Os', status: 'completed' }, { type: 'function_call_output', call_id: 'c1', output: 'x' }] })
    expect(response.status).toBe(400)
    expect(((await response.json()) as Json).error.message).toMatch(/arguments: must be a JSON object/)
  })
})

describe('/v1/responses from Gemini', () => {
  it("pairs each function output with its own call when parallel calls' outputs come back in another order", async () => {
    const called = { candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Oslo' } }, thoughtSignature: 'SIG' }, { functionCall: { name: 'get_weather', args: { city: 'Rome' } } }] }, finishReason: 'STOP' }], responseId: 'r1', usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 5 } }
    const answered = { candidates: [{ content: { role: 'model', parts: [{ text: 'Done.' }] }, finishReason: 'STOP' }], responseId: 'r2', usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 1 } }
    const upstream = fakeUpstreams({ [GEMINI]: (call) => jsonResponse((call.body.contents as unknown[]).length > 1 ? answered : called) })
    const ask = { model: 'test/gemini', tools, store: false }
    const output = ((await (await post({ ...ask, input: 'Weather in Oslo and Rome?' })).json()) as Json).output as Json[]
    const [oslo, rome] = output.filter((item) => item.type === 'function_call')
    expect([oslo?.arguments, rome?.arguments]).toEqual(['{"city":"Oslo"}', '{"city":"Rome"}'])
    const next = await post({
      ...ask,
      input: [
        { role: 'user', content: 'Weather in Oslo and Rome?' },
        ...output,
        { type: 'function_call_output', call_id: rome!.call_id, output: 'Rome: 20C' },
        { type: 'function_call_output', call_id: oslo!.call_id, output: 'Oslo: 5C' },
      ],
    })
    expect(next.status).toBe(200)
    // Gemini pairs function responses with the calls by position: they go in the calls' order.
    const results = (upstream.calls[1]!.body.contents as Json[])[2]!.parts.map((part: Json) => part.functionResponse.response.content)
    expect(results).toEqual(['Oslo: 5C', 'Rome: 20C'])
  })

  it('asks for no thought summaries when reasoning.summary is not set, as for Claude', async () => {
    // As Gemini does: thoughts only when asked for.
    const thoughts = (call: { body: Json }) => (call.body.generationConfig?.thinkingConfig?.includeThoughts ? [geminiChunk([{ text: 'Thinking about it', thought: true }])] : [])
    const upstream = fakeUpstreams({
      [GEMINI]: (call) => sseResponse([...thoughts(call), geminiChunk([{ text: 'Hello.' }], { finishReason: 'STOP' })]),
    })
    const response = await post({ model: 'test/gemini', input: 'Hi', reasoning: { effort: 'low' }, stream: true })
    const done = namedEvents(await response.text()).at(-1)!.response as Json
    expect(upstream.calls[0]!.body.generationConfig).toMatchObject({ thinkingConfig: { includeThoughts: false } })
    expect(done.output.flatMap((item: Json) => item.summary ?? [])).toEqual([])
  })

  it('fails a stream whose upstream reports a rate limit midway with the code rate_limit_exceeded', async () => {
    fakeUpstreams({
      [GEMINI]: () => sseResponse([geminiChunk([{ text: 'Part' }]), data({ error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } })]),
    })
    const failed = namedEvents(await (await post({ model: 'test/gemini', input: 'Hi', stream: true })).text()).at(-1)!
    expect(failed).toMatchObject({ type: 'response.failed', response: { status: 'failed' } })
    // Codex reads a retry delay only from a rate_limit_exceeded error; server_error is the provider's fault.
    expect(failed.response.error.code).toBe('rate_limit_exceeded')
  })
})

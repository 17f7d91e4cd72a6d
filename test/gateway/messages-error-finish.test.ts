import { describe, expect, it, vi } from 'vitest'
import { GAMMA } from '../support/catalog'
import { gatewayFetch, generationOf, namedEvents, setUpGateway } from '../support/gateway'
import { data, fakeUpstreams, jsonResponse, openaiCompletion, sseResponse } from '../support/upstream'

/**
 * Anthropic's Messages API has no stop reason for an answer its provider ended with an error
 * (`finish_reason: "error"`, OpenRouter's word for a provider that failed after it took the
 * request). Served as `end_turn`, Claude Code took it for a finished turn and stopped; it is an
 * error (a 502, or the stream's error event), which Anthropic's clients retry. Its tokens are charged.
 */
const tenant = setUpGateway()
const ask = { model: 'test/other', max_tokens: 256, messages: [{ role: 'user', content: 'Weather in Oslo?' }] }

function messages(body: object): Promise<Response> {
  return gatewayFetch('/v1/messages', { method: 'POST', headers: { 'x-api-key': tenant.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

describe('POST /v1/messages, an answer its provider ended with an error', () => {
  it('is a 502 in JSON, not an end_turn, and is charged and recorded as an error', async () => {
    const usage = { prompt_tokens: 40, completion_tokens: 3 }
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'Let', finish_reason: 'error', usage })) })
    const response = await messages(ask)
    expect(response.status).toBe(502)
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'api_error', message: 'The provider ended its answer with an error' } })
    const id = response.headers.get('request-id')!
    await vi.waitFor(async () => expect(await generationOf(tenant.key, id)).toMatchObject({ status: 'error', http_status: 502, tokens_prompt: 40, tokens_completion: 3 }))
  })

  it('is an error event in a stream, with nothing after it', async () => {
    const chunk = (delta: object, finish: string | null = null) => data({ id: 'up', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
    fakeUpstreams({ [GAMMA]: () => sseResponse([chunk({ role: 'assistant', content: 'Let' }), chunk({}, 'error'), 'data: [DONE]\n\n']) })
    const events = namedEvents(await (await messages({ ...ask, stream: true })).text())
    const types = events.map((event) => event.type)
    expect(types).not.toContain('message_delta')
    expect(types.at(-1)).toBe('error')
    expect(events.at(-1)).toMatchObject({ error: { type: 'api_error', message: 'The provider ended its answer with an error' } })
  })

  it('stays a finish_reason "error" on chat completions, the OpenAI dialect having the word', async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'Let', finish_reason: 'error' })) })
    const response = await gatewayFetch('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' }, body: JSON.stringify(ask) })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ choices: [{ finish_reason: 'error' }] })
  })
})

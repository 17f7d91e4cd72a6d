import { describe, expect, it } from 'vitest'
import { GAMMA } from '../support/catalog'
import { gatewayFetch, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

const tenant = setUpGateway()

function messages(body: object): Promise<Response> {
  return gatewayFetch('/v1/messages', {
    method: 'POST',
    headers: { 'x-api-key': tenant.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

function responses(body: object): Promise<Response> {
  return gatewayFetch('/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

/** OpenAI chat: a request needs a message; an assistant message needs content unless it has tool calls; no empty part lists. */
function expectValidChatBody(body: Record<string, unknown>) {
  const sent = body.messages as { role: string; content: unknown; tool_calls?: unknown[] }[]
  expect(sent.length).toBeGreaterThan(0)
  for (const message of sent) {
    if (message.role === 'assistant' && !message.tool_calls?.length) expect(message.content ?? null).not.toBeNull()
    if (Array.isArray(message.content)) expect(message.content.length).toBeGreaterThan(0)
  }
}

const answered = () => fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'ok' })) })

describe('POST /v1/messages: empty turns, as Anthropic reads them', () => {
  it('refuses a turn with no content blocks, naming it, unless it is the final assistant turn', async () => {
    const upstream = answered()
    const userTurn = await messages({ model: 'test/other', max_tokens: 10, messages: [{ role: 'user', content: [] }] })
    expect(userTurn.status).toBe(400)
    expect(await userTurn.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/messages\[0\]\.content: must not be empty/) } })
    const assistantTurn = await messages({
      model: 'test/other',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: [] }, { role: 'user', content: 'again' }],
    })
    expect(assistantTurn.status).toBe(400)
    expect(((await assistantTurn.json()) as { error: { message: string } }).error.message).toMatch(/messages\[1\]\.content/)
    expect(upstream.calls).toHaveLength(0)
    const prefill = await messages({ model: 'test/other', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: [] }] })
    expect(prefill.status).toBe(200)
    expectValidChatBody(upstream.calls[0]!.body)
  })

  it('sends no system message for an empty system array (which Anthropic accepts)', async () => {
    const upstream = answered()
    const response = await messages({ model: 'test/other', max_tokens: 10, system: [], messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(200)
    expectValidChatBody(upstream.calls[0]!.body)
    expect((upstream.calls[0]!.body.messages as { role: string }[]).map((message) => message.role)).toEqual(['user'])
  })
})

describe('POST /v1/responses: empty answers given back', () => {
  it('sends Meridian’s own empty message item (output_text "") as an assistant message with empty content, not null', async () => {
    const upstream = answered()
    const response = await responses({
      model: 'test/other',
      store: false,
      input: [
        { role: 'user', content: 'hi' },
        { type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: '', annotations: [] }] },
        { role: 'user', content: 'again' },
      ],
    })
    expect(response.status).toBe(200)
    expectValidChatBody(upstream.calls[0]!.body)
  })

  it('continues an empty stored response by previous_response_id with a valid conversation', async () => {
    let turn = 0
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: turn++ === 0 ? '' : 'ok' })) })
    const first = await responses({ model: 'test/other', input: 'hi' })
    const { id, output } = (await first.json()) as { id: string; output: unknown[] }
    expect(output).toEqual([expect.objectContaining({ type: 'message', content: [expect.objectContaining({ type: 'output_text', text: '' })] })])
    const second = await responses({ model: 'test/other', previous_response_id: id, input: 'again' })
    expect(second.status).toBe(200)
    expectValidChatBody(upstream.calls[1]!.body)
  })

  it('refuses an input with no message in it (a reasoning item alone) with a 400 naming input', async () => {
    const upstream = answered()
    const response = await responses({ model: 'test/other', input: [{ type: 'reasoning', summary: [{ type: 'summary_text', text: 'thinking' }] }] })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'input' } })
    expect(upstream.calls).toHaveLength(0)
  })
})

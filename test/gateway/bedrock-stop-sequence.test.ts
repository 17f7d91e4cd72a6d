import { describe, expect, it } from 'vitest'
import { chat, namedEvents, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, type RecordedCall } from '../support/upstream'
import { event, eventStreamResponse } from '../fixtures/bedrock/frames'
import { bedrockModel, BEDROCK, withBedrock } from '../fixtures/bedrock/catalog'

/**
 * Claude on Bedrock says which stop sequence matched only when the request asks for its
 * `/stop_sequence` response field; /v1/messages names it, as Anthropic's API does.
 */

const catalog = withBedrock(bedrockModel('test/sonnet', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', ['max_tokens', 'stop']))
const tenant = setUpGateway(catalog)
/** Bedrock gives the field only when the request asks for it by path. */
const asked = (call: RecordedCall) => ((call.body.additionalModelResponseFieldPaths as string[] | undefined) ?? []).includes('/stop_sequence')
const ask = { model: 'test/sonnet', max_tokens: 100, stop_sequences: ['END', 'STOP'], messages: [{ role: 'user', content: 'Count' }] }

describe('Claude on Bedrock stopped by one of several stop sequences', () => {
  it('names the sequence in a /v1/messages answer', async () => {
    fakeUpstreams({
      [BEDROCK]: (call) =>
        jsonResponse({
          output: { message: { role: 'assistant', content: [{ text: '1 2 3 ' }] } },
          stopReason: 'stop_sequence',
          usage: { inputTokens: 5, outputTokens: 4 },
          ...(asked(call) ? { additionalModelResponseFields: { stop_sequence: 'STOP' } } : {}),
        }),
    })
    const response = await chat(tenant.key, ask, '/v1/messages')
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'STOP' })
  })

  it('names the sequence in a /v1/messages stream', async () => {
    fakeUpstreams({
      [BEDROCK]: (call) =>
        eventStreamResponse([
          event('messageStart', { role: 'assistant' }),
          event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: '1 2 3 ' } }),
          event('contentBlockStop', { contentBlockIndex: 0 }),
          event('messageStop', { stopReason: 'stop_sequence', ...(asked(call) ? { additionalModelResponseFields: { stop_sequence: 'STOP' } } : {}) }),
          event('metadata', { usage: { inputTokens: 5, outputTokens: 4, totalTokens: 9 } }),
        ]),
    })
    const response = await chat(tenant.key, { ...ask, stream: true }, '/v1/messages')
    const delta = namedEvents(await response.text()).find((e) => e.type === 'message_delta')
    expect(delta?.delta).toEqual({ stop_reason: 'stop_sequence', stop_sequence: 'STOP' })
  })

  it('asks for nothing when no stop sequence is sent', async () => {
    const upstream = fakeUpstreams({ [BEDROCK]: () => jsonResponse({ output: { message: { role: 'assistant', content: [{ text: 'Hi' }] } }, stopReason: 'end_turn', usage: { inputTokens: 5, outputTokens: 1 } }) })
    expect((await chat(tenant.key, { ...ask, stop_sequences: undefined }, '/v1/messages')).status).toBe(200)
    expect(upstream.calls[0]!.body).not.toHaveProperty('additionalModelResponseFieldPaths')
  })
})

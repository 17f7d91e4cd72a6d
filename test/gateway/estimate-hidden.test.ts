import { describe, expect, it } from 'vitest'
import { BETA, GAMMA } from '../support/catalog'
import { chat, readSse, setUpGateway } from '../support/gateway'
import { anthropicEvent, data, fakeUpstreams, jsonResponse, sseResponse } from '../support/upstream'

/**
 * docs/catalog.md, Money: without usage from the upstream, output it generated and the client was
 * not shown is estimated too (thinking under reasoning.exclude, text dropped beside a forced-tool
 * JSON answer), whether the answer streamed or not: the same text costs the same either way.
 */
const tenant = setUpGateway()
const REASONING = 'Let me think about this carefully. '.repeat(20) // 700 characters: 175 tokens
const PREAMBLE = 'Here is the JSON you asked for, computed with care. '.repeat(10) // 520 characters: 130 tokens

type Usage = { completion_tokens: number; cost: number }
const start = anthropicEvent('message_start', { message: { id: 'msg', type: 'message', role: 'assistant', model: 'c', content: [], stop_reason: null, stop_sequence: null } })
const block = (index: number, content_block: object, delta: object) => [
  anthropicEvent('content_block_start', { index, content_block }),
  anthropicEvent('content_block_delta', { index, delta }),
  anthropicEvent('content_block_stop', { index }),
]
const end = (stop_reason: string) => [anthropicEvent('message_delta', { delta: { stop_reason, stop_sequence: null } }), anthropicEvent('message_stop', {})]

async function bothWays(ask: object): Promise<{ streamed: Usage; json: Usage }> {
  const streamed = (await readSse(await chat(tenant.key, { ...ask, stream: true }))).data.at(-1)!.usage as Usage
  const json = ((await (await chat(tenant.key, ask)).json()) as { usage: Usage }).usage
  return { streamed, json }
}

describe('a usage-less answer is estimated alike, streamed or not, hidden output included', () => {
  it('OpenAI-format upstream, reasoning.exclude', async () => {
    const chunk = (delta: object, finish: string | null = null) => data({ choices: [{ index: 0, delta, finish_reason: finish }] })
    fakeUpstreams({
      [GAMMA]: (call) =>
        call.body.stream
          ? sseResponse([chunk({ role: 'assistant', reasoning_content: REASONING }), chunk({ content: '4' }), chunk({}, 'stop'), 'data: [DONE]\n\n'])
          : jsonResponse({ id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: '4', reasoning_content: REASONING }, finish_reason: 'stop' }] }),
    })
    const { streamed, json } = await bothWays({ model: 'test/other', reasoning: { effort: 'high', exclude: true }, messages: [{ role: 'user', content: '2+2?' }] })
    expect(streamed.completion_tokens).toBe(176)
    expect(json).toEqual(streamed)
  })

  it('Anthropic-format upstream, reasoning.exclude', async () => {
    fakeUpstreams({
      [BETA]: (call) =>
        call.body.stream
          ? sseResponse([start, ...block(0, { type: 'thinking', thinking: '', signature: '' }, { type: 'thinking_delta', thinking: REASONING }), ...block(1, { type: 'text', text: '' }, { type: 'text_delta', text: '4' }), ...end('end_turn')])
          : jsonResponse({ id: 'msg', type: 'message', role: 'assistant', model: 'c', stop_reason: 'end_turn', stop_sequence: null, content: [{ type: 'thinking', thinking: REASONING, signature: 'sig' }, { type: 'text', text: '4' }] }),
    })
    const { streamed, json } = await bothWays({ model: 'test/claude', max_tokens: 2000, reasoning: { max_tokens: 1024, exclude: true }, messages: [{ role: 'user', content: '2+2?' }] })
    expect(streamed.completion_tokens).toBe(176)
    expect(json).toEqual(streamed)
  })

  it('Anthropic-format upstream, a preamble dropped beside a forced-tool JSON answer', async () => {
    fakeUpstreams({
      [BETA]: (call) => {
        const tool = ((call.body.tools as { name: string }[] | undefined) ?? [])[0]?.name ?? ''
        return call.body.stream
          ? sseResponse([start, ...block(0, { type: 'text', text: '' }, { type: 'text_delta', text: PREAMBLE }), ...block(1, { type: 'tool_use', id: 'toolu_1', name: tool, input: {} }, { type: 'input_json_delta', partial_json: '{"n":4}' }), ...end('tool_use')])
          : jsonResponse({ id: 'msg', type: 'message', role: 'assistant', model: 'c', stop_reason: 'tool_use', stop_sequence: null, content: [{ type: 'text', text: PREAMBLE }, { type: 'tool_use', id: 'toolu_1', name: tool, input: { n: 4 } }] })
      },
    })
    const { streamed, json } = await bothWays({
      model: 'test/claude',
      max_tokens: 2000,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { n: { type: 'number' } } } } },
      messages: [{ role: 'user', content: '2+2 as JSON' }],
    })
    expect(streamed.completion_tokens).toBe(132)
    expect(json).toEqual(streamed)
  })
})

import { describe, expect, it } from 'vitest'
import { GAMMA } from '../support/catalog'
import { chat, readSse, setUpGateway } from '../support/gateway'
import { data, fakeUpstreams, jsonResponse, sseResponse } from '../support/upstream'

/**
 * docs/catalog.md, Money: an upstream that sends zeroes for a count it did not make (a prompt of
 * zero tokens, no output tokens beside output it sent) is charged the estimate, never nothing.
 */
const tenant = setUpGateway()
const ANSWER = 'The capital of France is Paris, a city on the Seine. '.repeat(4) // 212 characters: 53 tokens
const ASK = { model: 'test/other', messages: [{ role: 'user', content: 'What is the capital of France? Answer at some length, please.' }] }

type Usage = { prompt_tokens: number; completion_tokens: number; cost: number }

function upstreamReporting(usage: object): void {
  fakeUpstreams({
    [GAMMA]: (call) =>
      call.body.stream
        ? sseResponse([
            data({ choices: [{ index: 0, delta: { role: 'assistant', content: ANSWER }, finish_reason: null }] }),
            data({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage }),
            'data: [DONE]\n\n',
          ])
        : jsonResponse({ id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' }], usage }),
  })
}

async function bothWays(): Promise<{ streamed: Usage; json: Usage }> {
  const streamed = (await readSse(await chat(tenant.key, { ...ASK, stream: true }))).data.at(-1)!.usage as Usage
  const json = ((await (await chat(tenant.key, ASK)).json()) as { usage: Usage }).usage
  return { streamed, json }
}

describe('zero usage from an upstream', () => {
  it('is estimated when every count is zero, streamed or not', async () => {
    upstreamReporting({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 })
    const { streamed, json } = await bothWays()
    expect(streamed.completion_tokens).toBe(53)
    expect(streamed.prompt_tokens).toBeGreaterThan(0)
    expect(streamed.cost).toBeGreaterThan(0)
    expect(json).toEqual(streamed)
  })

  it('keeps a counted prompt and estimates only the output it says was none', async () => {
    upstreamReporting({ prompt_tokens: 31, completion_tokens: 0, total_tokens: 31 })
    const { streamed, json } = await bothWays()
    expect(streamed).toMatchObject({ prompt_tokens: 31, completion_tokens: 53 })
    expect(json).toEqual(streamed)
  })

  it('keeps counts that are not zero as the upstream gave them', async () => {
    upstreamReporting({ prompt_tokens: 31, completion_tokens: 7, total_tokens: 38 })
    const { streamed, json } = await bothWays()
    expect(streamed).toMatchObject({ prompt_tokens: 31, completion_tokens: 7 })
    expect(json).toEqual(streamed)
  })
})

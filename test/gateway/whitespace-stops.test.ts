import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { BETA } from '../support/catalog'
import { gatewayFetch, setUpGateway } from '../support/gateway'
import { anthropicEvent, anthropicText, anthropicTextEvents, fakeUpstreams, jsonResponse, sseResponse } from '../support/upstream'

/**
 * Legacy completions are typically cut at a newline (`stop: ["\n"]`). Claude refuses whitespace-only
 * stop sequences, so the gateway leaves them out of the Anthropic request and cuts the answer at
 * them itself (formats/stop-sequences.ts): the client never gets text past the stop.
 */

const tenant = setUpGateway()
const client = () =>
  new OpenAI({
    baseURL: 'https://gateway.test/v1',
    apiKey: tenant.key,
    maxRetries: 0,
    fetch: ((url: RequestInfo | URL, init?: RequestInit) => gatewayFetch(new URL(String(url)).pathname, init)) as typeof fetch,
  })

/** An Anthropic stream whose text comes in the given pieces. */
function textInPieces(pieces: string[]): string[] {
  const [start, blockStart, , ...end] = anthropicTextEvents('')
  return [start!, blockStart!, ...pieces.map((text) => anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })), ...end]
}

describe('stop: ["\\n"] served by an Anthropic-format provider', () => {
  it('cuts a completion at the stop (JSON), with finish_reason stop', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicText(' Paris\nQ: What is the capital of Spain?\nA: Madrid')) })
    const completion = await client().completions.create({ model: 'test/claude', prompt: 'Q: What is the capital of France?\nA:', stop: ['\n'], max_tokens: 50 })
    expect(upstream.calls[0]!.body.stop_sequences).toBeUndefined()
    expect(completion.choices[0]!.text).toBe(' Paris')
    expect(completion.choices[0]!.finish_reason).toBe('stop')
  })

  it('streams nothing past the stop', async () => {
    fakeUpstreams({ [BETA]: () => sseResponse(anthropicTextEvents(' Paris\nQ: What is the capital of Spain?')) })
    const stream = await client().completions.create({ model: 'test/claude', prompt: 'Q: What is the capital of France?\nA:', stop: '\n', max_tokens: 50, stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? ''
    expect(text).toBe(' Paris')
  })

  it('finds a stop split across two events, and relays a partial match that is not one', async () => {
    fakeUpstreams({ [BETA]: () => sseResponse(textInPieces(['One\n', 'two\n', '\nthree'])) })
    const stream = await client().chat.completions.create({ model: 'test/claude', messages: [{ role: 'user', content: 'Count.' }], stop: ['\n\n'], stream: true })
    let text = ''
    let finish: string | null = null
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(text).toBe('One\ntwo')
    expect(finish).toBe('stop')
  })

  it('leaves an answer without the stop whole, a held partial match included', async () => {
    fakeUpstreams({ [BETA]: () => sseResponse(textInPieces(['One', ' two\n'])) })
    const stream = await client().chat.completions.create({ model: 'test/claude', messages: [{ role: 'user', content: 'Count.' }], stop: ['\n\n'], stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toBe('One two\n')
  })
})

import { describe, expect, it } from 'vitest'
import { BETA } from '../support/catalog'
import { chat, setUpGateway } from '../support/gateway'
import { anthropicText, fakeUpstreams, jsonResponse } from '../support/upstream'

/**
 * Anthropic's interleaved-thinking beta: "budget_tokens can exceed the max_tokens parameter, as it
 * represents the total budget across all thinking blocks within one assistant turn". The client's
 * max_tokens stays the ceiling it asked for.
 */

const tenant = setUpGateway()
const claudeAnswer = anthropicText('Done.')
const tools = [{ name: 'read_file', description: 'Read a file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } }]

const messages = (body: object, beta: string | null) => chat(tenant.key, body, '/v1/messages', beta ? { 'anthropic-beta': beta } : {})

describe('a thinking budget past max_tokens', () => {
  const ask = { model: 'test/claude', max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 3000 }, tools, messages: [{ role: 'user', content: 'Plan, then read a' }] }

  it('goes as sent beside tools with the interleaved-thinking beta, max_tokens kept', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(claudeAnswer) })
    expect((await messages(ask, 'interleaved-thinking-2025-05-14')).status).toBe(200)
    expect(upstream.calls[0]!.headers.get('anthropic-beta')).toBe('interleaved-thinking-2025-05-14')
    expect(upstream.calls[0]!.body).toMatchObject({ max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 3000 } })
  })

  it('raises max_tokens to fit it without the beta, which Anthropic requires', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(claudeAnswer) })
    expect((await messages(ask, null)).status).toBe(200)
    const sent = upstream.calls[0]!.body as { max_tokens: number; thinking: { budget_tokens: number } }
    expect(sent.thinking.budget_tokens).toBeLessThan(sent.max_tokens)
  })
})

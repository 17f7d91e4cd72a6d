import { describe, expect, it } from 'vitest'
import { GEMINI, geminiModel, withGemini } from '../fixtures/gemini/catalog'
import { testCatalog } from '../support/catalog'
import { chat, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse } from '../support/upstream'

/**
 * A tool schema's `$ref`s are written out for Gemini, whose Schema cannot hold them. Written out
 * without a bound on their size, a 17 KB request became a 2 MB upstream body, billed about 30 times
 * what its reservation counted (and a charge is capped at the reservation). They now write out at
 * most as many characters again as the tools hold, and the prompt's bound counts such tools twice.
 */

const tenant = setUpGateway(withGemini(testCatalog, geminiModel('gemini-2.5-flash', ['tools', 'tool_choice', 'max_tokens'])))

describe('a tool schema whose $refs Gemini gets written out', () => {
  it('is sent within twice its size, and charged for all the provider counted', async () => {
    let sentBytes = 0
    // The provider bills what it receives: about four bytes of schema a token.
    fakeUpstreams({
      [GEMINI]: (call) => {
        sentBytes = JSON.stringify(call.body).length
        const promptTokenCount = Math.ceil(sentBytes / 4)
        return jsonResponse({
          candidates: [{ content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP', index: 0 }],
          usageMetadata: { promptTokenCount, candidatesTokenCount: 1, totalTokenCount: promptTokenCount + 1 },
        })
      },
    })
    // One definition of 10 KB, named by 200 properties: written out in full, a 2 MB upstream body.
    const properties = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, { $ref: '#/$defs/Item' }]))
    const parameters = { type: 'object', properties, $defs: { Item: { type: 'string', description: 'd'.repeat(10_000) } } }
    const tools = [{ type: 'function', function: { name: 'fill', parameters } }]
    const response = await chat(tenant.key, { model: 'test/gemini', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], tools })
    expect(response.status).toBe(200)
    expect(sentBytes).toBeLessThan(2.1 * JSON.stringify(tools).length)
    const { usage } = (await response.json()) as { usage: { prompt_tokens: number; completion_tokens: number; cost: number } }
    // test/gemini: $1 per million prompt tokens, $4 per million completion tokens.
    expect(usage.prompt_tokens).toBe(Math.ceil(sentBytes / 4))
    expect(usage.cost).toBeCloseTo(usage.prompt_tokens * 0.000001 + usage.completion_tokens * 0.000004, 9)
  })
})

import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { ResponsesRequest } from '../../src/formats/responses/request'
import { MAX_ROW_BYTES, referencesOf, resolveInput, storedRow } from '../../src/formats/responses/stored'
import { insertResponse, recallResponses, type Recalled, type StoredResponse } from '../../src/tenancy/stored-responses'

const request = (fields: object) => ResponsesRequest.parse({ model: 'test/other', input: 'Next', ...fields })
const row = (id: string, previous: string | null, text: string): StoredResponse => ({
  id,
  previous,
  input: JSON.stringify([{ type: 'message', role: 'user', content: `asked ${text}` }]),
  response: JSON.stringify({ id, output: [{ type: 'message', id: `msg_${id}_0`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }] }),
})

function refusal(run: () => unknown): { message: string; metadata: Record<string, unknown> } {
  try {
    run()
  } catch (error) {
    if (error instanceof GatewayError) return { message: error.message, metadata: error.metadata }
    throw error
  }
  throw new Error('not refused')
}

describe('referencesOf', () => {
  it('names the previous response and the responses holding referenced items, and nothing for a request with neither', () => {
    const input = [{ type: 'item_reference', id: 'msg_gen-5-abc_1' }, { type: 'item_reference', id: 'other' }, { role: 'user', content: 'x' }]
    expect(referencesOf(request({ previous_response_id: 'gen-4-z', input }))).toEqual({ previous: 'gen-4-z', holders: ['gen-5-abc'] })
    expect(referencesOf(request({}))).toBeNull()
  })
})

describe('resolveInput', () => {
  const recalled = (fields: Partial<Recalled>): Recalled => ({ chain: [], broken: null, holders: [], ...fields })

  it('puts the chain first, oldest first, each response its input then its output', () => {
    const { history, input } = resolveInput(request({ previous_response_id: 'gen-2-b' }), recalled({ chain: [row('gen-1-a', null, 'one'), row('gen-2-b', 'gen-1-a', 'two')] }), null)
    expect(history.map((item) => (item.type === 'message' ? item.content : item.type))).toEqual(['asked one', [{ type: 'output_text', text: 'one' }], 'asked two', [{ type: 'output_text', text: 'two' }]])
    expect(input).toEqual([{ type: 'message', role: 'user', content: 'Next' }])
  })

  it('says where a chain breaks, and why', () => {
    const cases: [Recalled['broken'], RegExp][] = [
      [{ id: 'gen-2-b', reason: 'missing' }, /previous_response_id: Previous response with id 'gen-2-b' not found/],
      [{ id: 'gen-1-a', reason: 'missing' }, /Cannot continue response 'gen-2-b': response 'gen-1-a', earlier in its conversation, is no longer stored. Send the whole conversation/],
      [{ id: 'gen-1-a', reason: 'input_not_kept' }, /the input of response 'gen-1-a' was too large to store/],
      [{ id: 'gen-1-a', reason: 'too_large' }, /its conversation is larger than a request may be/],
    ]
    for (const [broken, message] of cases) {
      expect(refusal(() => resolveInput(request({ previous_response_id: 'gen-2-b' }), recalled({ broken }), null)).message).toMatch(message)
    }
    expect(refusal(() => resolveInput(request({ previous_response_id: 'gen-2-b' }), recalled({ broken: { id: 'gen-2-b', reason: 'missing' } }), null)).metadata).toMatchObject({
      code: 'previous_response_not_found',
    })
  })

  it('refuses a reference with no id, and any reference when storing is off, naming where it stands', () => {
    expect(refusal(() => resolveInput(request({ input: [{ type: 'item_reference' }] }), null, null)).message).toMatch(/input\[0\]: an item_reference needs the id/)
    const off = 'this gateway stores none'
    expect(refusal(() => resolveInput(request({ input: [{ type: 'item_reference', id: 'msg_gen-1-a_0' }] }), null, off)).message).toMatch(
      /input\[0\]: item_reference needs a stored response, and this gateway stores none/,
    )
    expect(refusal(() => resolveInput(request({ previous_response_id: 'gen-1-a' }), null, off)).message).toMatch(/previous_response_id needs a stored response, and this gateway stores none/)
  })
})

describe('storedRow', () => {
  const input = [{ type: 'message' as const, role: 'user' as const, content: 'Hi' }]

  it('keeps the input and the response, and leaves out an input that would make the row too large', () => {
    expect(storedRow({ id: 'gen-1-a' }, 'gen-0-z', input)).toEqual({ id: 'gen-1-a', previous: 'gen-0-z', input: JSON.stringify(input), response: '{"id":"gen-1-a"}' })
    const large = [{ type: 'message' as const, role: 'user' as const, content: 'é'.repeat(MAX_ROW_BYTES / 2) }]
    expect(storedRow({ id: 'gen-1-a' }, null, large)?.input).toBeNull()
  })

  it('keeps nothing of a response too large for a row', () => {
    expect(storedRow({ id: 'gen-1-a', text: 'x'.repeat(MAX_ROW_BYTES) } as { id: string }, null, input)).toBeNull()
  })
})

describe('recallResponses', () => {
  const object = (name: string) => env.KEYS.get(env.KEYS.idFromName(name))

  it('follows the chain back to its first response, and stops where it passes the size given', async () => {
    const [whole, cut, holders] = await runInDurableObject(object('recall-chain'), (_instance, state) => {
      const { sql } = state.storage
      for (const stored of [row('gen-1-a', null, 'one'), row('gen-2-b', 'gen-1-a', 'two'), row('gen-3-c', 'gen-2-b', 'three')]) insertResponse(sql, stored)
      const size = row('gen-3-c', 'gen-2-b', 'three')
      return [
        recallResponses(sql, 'gen-3-c', [], 1_000_000),
        recallResponses(sql, 'gen-3-c', [], (size.input?.length ?? 0) + size.response.length + 10),
        recallResponses(sql, null, ['gen-2-b', 'gen-2-b', 'gen-9-none'], 1_000_000),
      ]
    })
    expect(whole.chain.map((stored) => stored.id)).toEqual(['gen-1-a', 'gen-2-b', 'gen-3-c'])
    expect(whole.broken).toBeNull()
    expect(cut).toMatchObject({ broken: { id: 'gen-2-b', reason: 'too_large' } })
    expect(holders).toMatchObject({ chain: [], broken: null, holders: [{ id: 'gen-2-b' }] })
  })
})

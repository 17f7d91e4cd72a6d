import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { ResponsesRequest } from '../../src/formats/responses/request'
import { MAX_ROW_BYTES, referencesOf, resolveInput, storedRow } from '../../src/formats/responses/stored'
import { createTables } from '../../src/tenancy/key-tables'
import { insertResponse, pruneResponseBytes, recallResponses, type Recalled, type RecalledResponse, type StoredResponse } from '../../src/tenancy/stored-responses'

const request = (fields: object) => ResponsesRequest.parse({ model: 'test/other', input: 'Next', ...fields })
const MAX = 1_000_000
const outputOf = (id: string, text: string) => [{ type: 'message', id: `msg_${id}_0`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }]
/** A row as stored; `instructions` stand for what the response object repeats of its request. */
const row = (id: string, previous: string | null, text: string, instructions = ''): StoredResponse => {
  const input = JSON.stringify([{ type: 'message', role: 'user', content: `asked ${text}` }])
  const response = JSON.stringify({ id, instructions, output: outputOf(id, text) })
  return { id, previous, input, response, bytes: input.length + response.length }
}
/** The same row as a later request reads it back. */
const recalledRow = (id: string, previous: string | null, text: string): RecalledResponse => ({ id, previous, input: row(id, previous, text).input, output: JSON.stringify(outputOf(id, text)) })

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
    const { history, input } = resolveInput(request({ previous_response_id: 'gen-2-b' }), recalled({ chain: [recalledRow('gen-1-a', null, 'one'), recalledRow('gen-2-b', 'gen-1-a', 'two')] }), true, MAX)
    expect(history.map((item) => (item.type === 'message' ? item.content : item.type))).toEqual(['asked one', [{ type: 'output_text', text: 'one' }], 'asked two', [{ type: 'output_text', text: 'two' }]])
    expect(input).toEqual([{ type: 'message', role: 'user', content: 'Next' }])
  })

  it('says where a chain breaks, and why', () => {
    const cases: [Recalled['broken'], RegExp][] = [
      [{ id: 'gen-2-b', reason: 'missing' }, /previous_response_id: Previous response with id 'gen-2-b' not found/],
      [{ id: 'gen-1-a', reason: 'missing' }, /Cannot continue response 'gen-2-b': response 'gen-1-a', earlier in its conversation, is no longer stored. Send the whole conversation/],
      [{ id: 'gen-1-a', reason: 'input_not_kept' }, /the input of response 'gen-1-a', earlier in its conversation, was too large to store/],
      [{ id: 'gen-2-b', reason: 'input_not_kept' }, /Cannot continue response 'gen-2-b': its input was too large to store\. Send the whole/],
      [{ id: 'gen-1-a', reason: 'too_large' }, /larger than a request may be \(1000000 bytes\)/],
    ]
    for (const [broken, message] of cases) {
      expect(refusal(() => resolveInput(request({ previous_response_id: 'gen-2-b' }), recalled({ broken }), true, MAX)).message).toMatch(message)
    }
    expect(refusal(() => resolveInput(request({ previous_response_id: 'gen-2-b' }), recalled({ broken: { id: 'gen-2-b', reason: 'missing' } }), true, MAX)).metadata).toMatchObject({
      code: 'previous_response_not_found',
    })
  })

  it('refuses a reference with no id, and any reference when storing is off, naming where it stands', () => {
    expect(refusal(() => resolveInput(request({ input: [{ type: 'item_reference' }] }), null, true, MAX)).message).toMatch(/input\[0\]: an item_reference needs the id/)
    expect(refusal(() => resolveInput(request({ input: [{ type: 'item_reference', id: 'msg_gen-1-a_0' }] }), null, false, MAX)).message).toMatch(
      /input\[0\]: item_reference needs a stored response, and this gateway stores none \(RESPONSES_RETENTION_DAYS is 0\)/,
    )
    expect(refusal(() => resolveInput(request({ previous_response_id: 'gen-1-a' }), null, false, MAX)).message).toMatch(/previous_response_id needs a stored response, and this gateway stores none/)
  })

  it('refuses an item that comes twice, as OpenAI does: referenced twice, sent again, or already brought by the previous response', () => {
    const one = recalledRow('gen-1-a', null, 'one')
    const ref = { type: 'item_reference', id: 'msg_gen-1-a_0' }
    const again = { type: 'message', id: 'msg_gen-1-a_0', role: 'assistant', content: 'one' }
    const cases: [object, RegExp][] = [
      [{ input: [ref, ref] }, /input\[1\]: Duplicate item found with id 'msg_gen-1-a_0'/],
      [{ input: [ref, again] }, /input\[1\]: Duplicate item found/],
      [{ previous_response_id: 'gen-1-a', input: [ref] }, /input\[0\]: Duplicate item found with id 'msg_gen-1-a_0'/],
    ]
    for (const [fields, message] of cases) {
      expect(refusal(() => resolveInput(request(fields), recalled({ chain: [one], holders: [one] }), true, MAX)).message).toMatch(message)
    }
    expect(resolveInput(request({ input: [ref] }), recalled({ holders: [one] }), true, MAX).input).toEqual([{ type: 'message', id: 'msg_gen-1-a_0', role: 'assistant', content: [{ type: 'output_text', text: 'one' }] }])
  })

  it('refuses what references make larger than a request may be, and a stored row that no longer reads', () => {
    const big = recalledRow('gen-1-a', null, 'x'.repeat(600))
    const refs = { input: [{ type: 'item_reference', id: 'msg_gen-1-a_0' }, { role: 'user', content: 'y'.repeat(500) }] }
    expect(resolveInput(request(refs), recalled({ holders: [big] }), true, 2_000).input).toHaveLength(2)
    expect(refusal(() => resolveInput(request(refs), recalled({ holders: [big] }), true, 1_000)).message).toMatch(/larger than a request may be \(1000 bytes\)/)
    expect(refusal(() => resolveInput(request({ previous_response_id: 'gen-1-a' }), recalled({ chain: [{ ...big, input: '[{"type":"message","role":"user"}]' }] }), true, MAX)).message).toMatch(
      /Stored response 'gen-1-a' can no longer be read/,
    )
    expect(refusal(() => resolveInput(request(refs), recalled({ holders: [{ id: 'gen-1-a', output: 'not json' }, { id: 'gen-2-b', output: null }] }), true, MAX)).message).toMatch(/can no longer be read/)
  })
})

describe('storedRow', () => {
  const input = [{ type: 'message' as const, role: 'user' as const, content: 'Hi' }]

  it('keeps the input and the response, and leaves out an input that would make the row too large', () => {
    const json = JSON.stringify(input)
    expect(storedRow({ id: 'gen-1-a' }, 'gen-0-z', input)).toEqual({ id: 'gen-1-a', previous: 'gen-0-z', input: json, response: '{"id":"gen-1-a"}', bytes: json.length + 16 })
    const large = [{ type: 'message' as const, role: 'user' as const, content: 'é'.repeat(MAX_ROW_BYTES / 2) }]
    expect(storedRow({ id: 'gen-1-a' }, null, large)).toMatchObject({ input: null, bytes: 16 })
  })

  it('keeps nothing of a response too large for a row', () => {
    expect(storedRow({ id: 'gen-1-a', text: 'x'.repeat(MAX_ROW_BYTES) } as { id: string }, null, input)).toBeNull()
  })
})

describe('recallResponses', () => {
  const object = (name: string) => env.KEYS.get(env.KEYS.idFromName(name))

  it('follows the chain back to its first response, and stops where it, or the responses referenced, pass the size given', async () => {
    const [whole, cut, holders, tooMany] = await runInDurableObject(object('recall-chain'), (_instance, state) => {
      // An object has tables once its key exists (KeyDO.create); this one names no key.
      createTables(state.storage)
      const { sql } = state.storage
      for (const stored of [row('gen-1-a', null, 'one'), row('gen-2-b', 'gen-1-a', 'two'), row('gen-3-c', 'gen-2-b', 'three')]) insertResponse(sql, stored)
      const size = recalledRow('gen-3-c', 'gen-2-b', 'three')
      return [
        recallResponses(sql, 'gen-3-c', [], 1_000_000),
        recallResponses(sql, 'gen-3-c', [], (size.input?.length ?? 0) + (size.output?.length ?? 0) + 10),
        recallResponses(sql, null, ['gen-2-b', 'gen-2-b', 'gen-9-none'], 1_000_000),
        recallResponses(sql, null, ['gen-1-a', 'gen-2-b', 'gen-3-c'], (size.output?.length ?? 0) * 2),
      ]
    })
    expect(whole.chain.map((stored) => stored.id)).toEqual(['gen-1-a', 'gen-2-b', 'gen-3-c'])
    expect(whole.broken).toBeNull()
    expect(cut).toMatchObject({ broken: { id: 'gen-2-b', reason: 'too_large' } })
    expect(whole.chain[1]).toEqual(recalledRow('gen-2-b', 'gen-1-a', 'two'))
    expect(holders).toEqual({ chain: [], broken: null, holders: [{ id: 'gen-2-b', output: recalledRow('gen-2-b', 'gen-1-a', 'two').output }] })
    expect(tooMany).toMatchObject({ broken: { id: 'gen-3-c', reason: 'too_large' } })
  })

  it('counts what a conversation holds of each response, not what its object repeats of its request (instructions, tools)', async () => {
    const recalled = await runInDurableObject(object('recall-instructions'), (_instance, state) => {
      // An object has tables once its key exists (KeyDO.create); this one names no key.
      createTables(state.storage)
      const { sql } = state.storage
      const instructions = 'Follow the house rules. '.repeat(400)
      for (const stored of [row('gen-1-a', null, 'one', instructions), row('gen-2-b', 'gen-1-a', 'two', instructions), row('gen-3-c', 'gen-2-b', 'three', instructions)]) insertResponse(sql, stored)
      insertResponse(sql, { id: 'gen-4-d', previous: null, input: '[]', response: 'not json', bytes: 10 })
      return [recallResponses(sql, 'gen-3-c', [], instructions.length), recallResponses(sql, 'gen-4-d', [], 1_000_000)]
    })
    expect(recalled[0]).toEqual({ chain: [recalledRow('gen-1-a', null, 'one'), recalledRow('gen-2-b', 'gen-1-a', 'two'), recalledRow('gen-3-c', 'gen-2-b', 'three')], holders: [], broken: null })
    expect(recalled[1]!.chain).toEqual([{ id: 'gen-4-d', previous: null, input: '[]', output: null }])
  })

  it('prunes the oldest stored responses until at least the bytes given are gone, and says how many went', async () => {
    const left = await runInDurableObject(object('recall-prune-bytes'), (_instance, state) => {
      // An object has tables once its key exists (KeyDO.create); this one names no key.
      createTables(state.storage)
      const { sql } = state.storage
      const rows = [row('gen-1-a', null, 'one'), row('gen-2-b', null, 'two'), row('gen-3-c', null, 'three')]
      for (const stored of rows) insertResponse(sql, stored)
      const freed = pruneResponseBytes(sql, 1)
      return { freed, expected: rows[0]!.bytes, ids: sql.exec<{ id: string }>('SELECT id FROM responses ORDER BY id').toArray().map((r) => r.id) }
    })
    expect(left.ids).toEqual(['gen-2-b', 'gen-3-c'])
    expect(left.freed).toBe(left.expected)
  })
})

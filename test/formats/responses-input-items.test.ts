import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { InputItemsQuery, inputItemsPage } from '../../src/formats/responses/input-items'

const ID = 'gen-1700000000-abc'
const input = JSON.stringify([
  { type: 'message', role: 'user', content: 'Weather?' },
  { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{}' },
  { type: 'function_call_output', call_id: 'call_1', output: 'Sunny' },
  { type: 'message', role: 'assistant', content: 'It is sunny.' },
])
const page = (query: Record<string, string>) => inputItemsPage(ID, input, InputItemsQuery.parse(query))
const ids = (query: Record<string, string>) => page(query).data.map((item) => item.id)

describe('inputItemsPage', () => {
  it('gives items sent without ids one made from the response and their place, by kind', () => {
    expect(ids({ order: 'asc' })).toEqual([`msg_${ID}_in0`, `fc_${ID}_in1`, `fco_${ID}_in2`, `msg_${ID}_in3`])
    expect(page({ order: 'asc' }).data[3]).toEqual({
      type: 'message',
      id: `msg_${ID}_in3`,
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'It is sunny.', annotations: [], logprobs: [] }],
    })
  })

  it('pages with after and before, in either order', () => {
    expect(ids({ limit: '2' })).toEqual([`msg_${ID}_in3`, `fco_${ID}_in2`])
    expect(page({ limit: '2' })).toMatchObject({ has_more: true, first_id: `msg_${ID}_in3`, last_id: `fco_${ID}_in2` })
    expect(ids({ limit: '2', after: `fco_${ID}_in2` })).toEqual([`fc_${ID}_in1`, `msg_${ID}_in0`])
    expect(page({ limit: '2', after: `fco_${ID}_in2` }).has_more).toBe(false)
    expect(ids({ order: 'asc', before: `fco_${ID}_in2` })).toEqual([`msg_${ID}_in0`, `fc_${ID}_in1`])
    expect(ids({ order: 'asc', after: `msg_${ID}_in0`, before: `msg_${ID}_in3` })).toEqual([`fc_${ID}_in1`, `fco_${ID}_in2`])
    expect(page({ after: `msg_${ID}_in0` })).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false })
    // `before` alone gives the page just before its item, with more before it.
    expect(ids({ order: 'asc', limit: '1', before: `msg_${ID}_in3` })).toEqual([`fco_${ID}_in2`])
    expect(page({ order: 'asc', limit: '2', before: `msg_${ID}_in3` })).toMatchObject({ has_more: true, first_id: `fc_${ID}_in1` })
  })

  it('refuses an input too large to have been kept, an unknown cursor, and a limit out of range', () => {
    expect(() => inputItemsPage(ID, null, InputItemsQuery.parse({}))).toThrow(/too large to store/)
    expect(() => page({ after: 'msg_other' })).toThrow(GatewayError)
    expect(InputItemsQuery.safeParse({ limit: '101' }).success).toBe(false)
    expect(InputItemsQuery.safeParse({ order: 'newest' }).success).toBe(false)
  })
})

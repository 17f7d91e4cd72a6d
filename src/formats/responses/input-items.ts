import * as z from 'zod'
import { GatewayError, invalidInput } from '../../errors'
import { readItems, type ConcreteItem } from './stored'

/**
 * GET /responses/{id}/input_items: a stored response's own input items (its previous responses'
 * are theirs), a page at a time as OpenAI lists them (`limit` 1–100, default 20; `order` desc by
 * default; `after` and `before` item ids as cursors). An item the client sent without an id gets
 * one made from the response's id and its place, so cursors are stable. Pure.
 */

export const InputItemsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().min(1).optional(),
  before: z.string().min(1).optional(),
})
export type InputItemsQuery = z.infer<typeof InputItemsQuery>

type Listed = ConcreteItem & { id: string }

export interface InputItemsPage {
  object: 'list'
  data: Listed[]
  first_id: string | null
  last_id: string | null
  has_more: boolean
}

const PREFIX: Record<ConcreteItem['type'], string> = {
  message: 'msg',
  function_call: 'fc',
  function_call_output: 'fco',
  custom_tool_call: 'ctc',
  custom_tool_call_output: 'ctco',
  reasoning: 'rs',
}

export function inputItemsPage(responseId: string, input: string | null, query: InputItemsQuery): InputItemsPage {
  if (input === null) {
    throw new GatewayError(400, 'invalid_request', `The input of response '${responseId}' was too large to store, so it cannot be listed.`)
  }
  const items = readItems(responseId, input).map((item, index) => listed(item, `${PREFIX[item.type]}_${responseId}_in${index}`))
  if (query.order === 'desc') items.reverse()
  const start = query.after === undefined ? 0 : position(items, query.after, responseId, 'after') + 1
  const end = query.before === undefined ? items.length : position(items, query.before, responseId, 'before')
  const window = items.slice(start, Math.max(start, end))
  // `before` alone asks for the page just before its item; otherwise the page starts the window.
  const data = query.before !== undefined && query.after === undefined ? window.slice(-query.limit) : window.slice(0, query.limit)
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: window.length > data.length }
}

/**
 * The item with its id and (as OpenAI lists them) a status, a message's text content as the parts
 * OpenAI lists: an assistant's output_text with its `annotations` and `logprobs`, which the SDKs'
 * types require (requests' schema drops them).
 */
function listed(item: ConcreteItem, madeId: string): Listed {
  const id = item.id || madeId
  const status = item.type === 'reasoning' ? {} : { status: 'completed' as const }
  if (item.type !== 'message') return { ...status, ...item, id }
  if (item.role === 'assistant') {
    const parts = typeof item.content === 'string' ? [{ type: 'output_text' as const, text: item.content }] : item.content
    const content = parts.map((part) => (part.type === 'output_text' ? { ...part, annotations: [], logprobs: [] } : part))
    return { ...status, ...item, id, content }
  }
  return typeof item.content === 'string' ? { ...status, ...item, id, content: [{ type: 'input_text', text: item.content }] } : { ...status, ...item, id }
}

function position(items: Listed[], id: string, responseId: string, param: 'after' | 'before'): number {
  const index = items.findIndex((item) => item.id === id)
  if (index < 0) throw invalidInput('query', [{ path: [param], message: `No item with id '${id}' is in the input of response '${responseId}'.` }])
  return index
}

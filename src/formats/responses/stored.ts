import { z } from 'zod'
import { GatewayError, invalidInput } from '../../errors'
import type { BrokenChain, Recalled, StoredResponse } from '../../tenancy/stored-responses'
import { utf8Length } from '../openai/estimate'
import { Item, type ResponsesRequest } from './request'

/**
 * Stored state for the Responses API, as OpenAI keeps it: a response created with `store` on
 * (the default) can be continued with `previous_response_id`, and its output items named with
 * `item_reference` (which `@ai-sdk/openai` sends for earlier answers unless `store` is false).
 * The key's object keeps the rows (tenancy/stored-responses.ts); this turns a request's
 * references into the items they stand for, and a finished response into its row. Pure.
 */

/** An input item with nothing left to look up. */
export type ConcreteItem = Exclude<Item, { type: 'item_reference' }>

/** A request's conversation once its references are resolved: the previous responses' items, then its own input. */
export interface Resolved {
  history: ConcreteItem[]
  input: ConcreteItem[]
}

/** What a request names: its previous response, and the stored responses that hold the items it references. */
export interface References {
  previous: string | null
  holders: string[]
}

/** An output item's id (render.ts `itemId`): its kind, the response's id, and its place in the output. */
const ITEM_ID = /^(?:msg|rs|fc|ctc)_(gen-\d+-[A-Za-z0-9]+)_\d+$/

/** A row's size is bounded: the key object's SQLite refuses rows over 2 MB. */
export const MAX_ROW_BYTES = 1_900_000

/** The stored responses a request needs, or null when it names none. */
export function referencesOf(request: ResponsesRequest): References | null {
  const previous = request.previous_response_id ?? null
  const holders = request.input.flatMap((item) => (item.type === 'item_reference' ? (ITEM_ID.exec(item.id ?? '')?.[1] ?? []) : []))
  return previous === null && holders.length === 0 ? null : { previous, holders }
}

const StoredInput = z.array(Item)
const StoredOutput = z.object({ output: z.array(z.looseObject({ id: z.string().optional() })) })

/**
 * The request's conversation with every reference replaced by what it names. `recalled` is what
 * the key's object found (null: nothing was looked up); `off` says why nothing can be found when
 * the gateway stores no responses.
 */
export function resolveInput(request: ResponsesRequest, recalled: Recalled | null, off: string | null): Resolved {
  const previous = request.previous_response_id ?? null
  let history: ConcreteItem[] = []
  if (previous !== null) {
    if (off) throw invalid(['previous_response_id'], `previous_response_id needs a stored response, and ${off}`, 'previous_response_not_found')
    const broken = recalled?.broken ?? null
    if (!recalled || broken) throw brokenChain(previous, broken)
    history = recalled.chain.flatMap((row) => [...concrete(StoredInput.parse(JSON.parse(row.input ?? '[]'))), ...outputItems(row)])
  }
  const input = request.input.map((item, index): ConcreteItem => {
    if (item.type !== 'item_reference') return item
    const at = ['input', index]
    if (!item.id) throw invalid(at, 'an item_reference needs the id of an item of a stored response')
    if (off) throw invalid(at, `item_reference needs a stored response, and ${off}`)
    const holder = recalled?.holders.find((row) => row.id === ITEM_ID.exec(item.id ?? '')?.[1])
    const found = holder && outputItems(holder, item.id)[0]
    if (!found) throw invalid(at, `Item with id '${item.id}' not found.`)
    return found
  })
  return { history, input }
}

/** A finished response's row, or null when it is too large to keep; its input is left out if only that makes it too large. */
export function storedRow(response: { id: string }, previous: string | null, input: ConcreteItem[]): StoredResponse | null {
  const json = JSON.stringify(response)
  const bytes = utf8Length(json)
  if (bytes > MAX_ROW_BYTES) return null
  const inputJson = JSON.stringify(input)
  return { id: response.id, previous, input: bytes + utf8Length(inputJson) <= MAX_ROW_BYTES ? inputJson : null, response: json }
}

/** A stored response's output items (only the one with id `only`, if given) as input items. */
function outputItems(row: StoredResponse, only?: string): ConcreteItem[] {
  const { output } = StoredOutput.parse(JSON.parse(row.response))
  return concrete(StoredInput.parse(only === undefined ? output : output.filter((item) => item.id === only)))
}

/** Stored items never hold references: they were resolved before they were kept. */
function concrete(items: Item[]): ConcreteItem[] {
  return items.filter((item): item is ConcreteItem => item.type !== 'item_reference')
}

function brokenChain(previous: string, broken: BrokenChain | null): GatewayError {
  if (!broken || (broken.reason === 'missing' && broken.id === previous)) {
    return invalid(['previous_response_id'], `Previous response with id '${previous}' not found.`, 'previous_response_not_found')
  }
  const reason = {
    missing: `response '${broken.id}', earlier in its conversation, is no longer stored`,
    input_not_kept: `the input of response '${broken.id}' was too large to store`,
    too_large: `its conversation is larger than a request may be`,
  }[broken.reason]
  return invalid(['previous_response_id'], `Cannot continue response '${previous}': ${reason}. Send the whole conversation in input instead.`)
}

/** A 400 naming the field, with OpenAI's code when it has one for the case. */
function invalid(path: (string | number)[], message: string, code?: 'previous_response_not_found'): GatewayError {
  const error = invalidInput('request', [{ path, message }])
  return code ? new GatewayError(400, 'invalid_request', error.message, { ...error.metadata, code }) : error
}

import * as z from 'zod'
import { GatewayError, invalidInput } from '../../errors'
import { parsedJson } from '../../json'
import { MAX_CHAIN, type BrokenChain, type HeldResponse, type Recalled, type StoredResponse } from '../../tenancy/stored-responses'
import { utf8Length } from '../openai/estimate'
import { argumentsObject } from '../openai/request'
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

/** The response an item of Meridian's own output came from, told by its id; null for another issuer's. */
export function responseOfItem(id: string | null | undefined): string | null {
  return ITEM_ID.exec(id ?? '')?.[1] ?? null
}

/** A row's size is bounded: the key object's SQLite refuses rows over 2 MB. */
export const MAX_ROW_BYTES = 1_900_000

const OFF = 'this gateway stores none (RESPONSES_RETENTION_DAYS is 0): send the whole conversation in input'

/** The stored responses a request needs, or null when it names none. */
export function referencesOf(request: ResponsesRequest): References | null {
  const previous = request.previous_response_id ?? null
  const holders = request.input.flatMap((item) => (item.type === 'item_reference' ? (responseOfItem(item.id) ?? []) : []))
  return previous === null && holders.length === 0 ? null : { previous, holders }
}

const StoredItems = z.array(Item)
const StoredOutput = z.array(z.looseObject({ id: z.string().optional() }))

/**
 * The request's conversation with every reference replaced by what it names. `recalled` is what
 * the key's object found (null: nothing was looked up, as when `storing` is off). As at OpenAI,
 * an item may not come twice (a reference to an item the previous response already brings, say),
 * and what the references bring may not make the conversation larger than a request may be.
 */
export function resolveInput(request: ResponsesRequest, recalled: Recalled | null, storing: boolean, maxBytes: number): Resolved {
  const previous = request.previous_response_id ?? null
  const seen = new Set<string>()
  const once = (id: string | null | undefined, at: (string | number)[]) => {
    if (!id) return
    if (seen.has(id)) throw invalid(at, `Duplicate item found with id '${id}'.`)
    seen.add(id)
  }
  if (recalled?.broken?.reason === 'too_large') throw tooLarge(maxBytes)
  if (recalled?.broken?.reason === 'too_long') throw invalid(['previous_response_id'], `Cannot continue response '${previous}': its conversation is more than ${MAX_CHAIN} stored responses long. Send the whole conversation in input instead.`)
  let history: ConcreteItem[] = []
  if (previous !== null) {
    if (!storing) throw invalid(['previous_response_id'], `previous_response_id needs a stored response, and ${OFF}`, 'previous_response_not_found')
    if (!recalled || recalled.broken) throw brokenChain(previous, recalled?.broken ?? null)
    history = recalled.chain.flatMap((row) => [...readItems(row.id, row.input ?? '[]'), ...outputOf(row).map((entry) => entry.item)])
    for (const item of history) once(item.id, ['previous_response_id'])
  }
  const held = new Map((recalled?.holders ?? []).flatMap(outputOf).map((entry) => [entry.id, entry.item]))
  const input = request.input.map((item, index): ConcreteItem => {
    const at = ['input', index]
    once(item.id, at)
    if (item.type !== 'item_reference') return item
    if (!item.id) throw invalid(at, 'an item_reference needs the id of an item of a stored response')
    if (!storing) throw invalid(at, `item_reference needs a stored response, and ${OFF}`)
    const found = held.get(item.id)
    if (!found) throw invalid(at, `Item with id '${item.id}' not found.`)
    return found
  })
  if (recalled && utf8Length(JSON.stringify(history)) + utf8Length(JSON.stringify(input)) > maxBytes) throw tooLarge(maxBytes)
  return { history, input }
}

/** A finished response's row, or null when it is too large to keep; its input is left out if only that makes it too large. */
export function storedRow(response: { id: string }, previous: string | null, input: ConcreteItem[]): StoredResponse | null {
  const json = JSON.stringify(response)
  const bytes = utf8Length(json)
  if (bytes > MAX_ROW_BYTES) return null
  const inputJson = JSON.stringify(input)
  const inputBytes = utf8Length(inputJson)
  const kept = bytes + inputBytes <= MAX_ROW_BYTES
  return { id: response.id, previous, input: kept ? inputJson : null, response: json, bytes: bytes + (kept ? inputBytes : 0) }
}

/** A stored response's output items, each as an input item with its id. */
function outputOf(row: HeldResponse): { id: string; item: ConcreteItem }[] {
  const parsed = StoredOutput.safeParse(row.output === null ? undefined : parsedJson(row.output))
  if (!parsed.success) throw unreadable(row.id)
  const items = readItems(row.id, parsed.data)
  return parsed.data.flatMap((raw, index) => (raw.id && items[index] ? [{ id: raw.id, item: items[index] }] : []))
}

/** Stored items, read with the schema requests are read with (a row an older build wrote may no longer pass it). */
export function readItems(id: string, stored: string | unknown[]): ConcreteItem[] {
  const parsed = StoredItems.safeParse(typeof stored === 'string' ? parsedJson(stored) : stored)
  if (!parsed.success) throw unreadable(id)
  // Stored items never hold references: they were resolved before they were kept.
  return parsed.data.filter((item): item is ConcreteItem => item.type !== 'item_reference')
}

function unreadable(id: string): GatewayError {
  return new GatewayError(400, 'invalid_request', `Stored response '${id}' can no longer be read: send the whole conversation in input instead.`)
}

function tooLarge(maxBytes: number): GatewayError {
  return new GatewayError(
    400,
    'invalid_request',
    `The conversation, with what it names of stored responses, is larger than a request may be (${maxBytes} bytes): send less of it in input instead.`,
  )
}

function brokenChain(previous: string, broken: BrokenChain | null): GatewayError {
  if (!broken || (broken.reason === 'missing' && broken.id === previous)) {
    return invalid(['previous_response_id'], `Previous response with id '${previous}' not found.`, 'previous_response_not_found')
  }
  const which = broken.id === previous ? 'its input' : `the input of response '${broken.id}', earlier in its conversation,`
  const reason = broken.reason === 'missing' ? `response '${broken.id}', earlier in its conversation, is no longer stored` : `${which} was too large to store`
  return invalid(['previous_response_id'], `Cannot continue response '${previous}': ${reason}. Send the whole conversation in input instead.`)
}

/** A 400 naming the field, with OpenAI's code when it has one for the case. */
function invalid(path: (string | number)[], message: string, code?: 'previous_response_not_found'): GatewayError {
  const error = invalidInput('request', [{ path, message }])
  return code ? new GatewayError(400, 'invalid_request', error.message, { ...error.metadata, code }) : error
}

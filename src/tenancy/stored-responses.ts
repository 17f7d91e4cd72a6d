/**
 * Stored Responses API responses (POST /v1/responses with `store` on), in the key's object's
 * SQLite (the table is made in ./key-tables): what `previous_response_id`, `item_reference` and
 * GET /responses/{id} read back. A response's id is its generation id, so ids sort by time and
 * pruning by age needs no other index (pruneTimeOrdered). Each row is the request's own input items (references resolved) and the response object, both
 * JSON; the gateway parses them again when it reads them (formats/responses/stored.ts).
 */

export interface StoredResponse extends Record<string, SqlStorageValue> {
  id: string
  /** The response it continued (its request's previous_response_id), or null. */
  previous: string | null
  /** The request's own input items, JSON; null when they were too large to keep. */
  input: string | null
  /** The response object, JSON. */
  response: string
}

/** Where a chain of previous responses could not be followed back to its start. */
export interface BrokenChain {
  id: string
  reason: 'missing' | 'input_not_kept' | 'too_large'
}

export interface Recalled {
  /** previous_response_id and the responses before it, oldest first. */
  chain: StoredResponse[]
  broken: BrokenChain | null
  /** The stored responses that hold the referenced items (those that exist). */
  holders: StoredResponse[]
}

/** The longest chain of previous responses followed; a longer one is `too_large`. */
export const MAX_CHAIN = 1_000

/** Stores a response; one already stored under its id is kept. */
export function insertResponse(sql: SqlStorage, row: StoredResponse): void {
  sql.exec('INSERT OR IGNORE INTO responses (id, previous, input, response) VALUES (?, ?, ?, ?)', row.id, row.previous, row.input, row.response)
}

export function responseById(sql: SqlStorage, id: string): StoredResponse | null {
  return sql.exec<StoredResponse>('SELECT id, previous, input, response FROM responses WHERE id = ?', id).toArray()[0] ?? null
}

/** Deletes a stored response; false if there was none. */
export function deleteResponse(sql: SqlStorage, id: string): boolean {
  return sql.exec('DELETE FROM responses WHERE id = ?', id).rowsWritten > 0
}

/**
 * What a request names: the chain from `previous` back to its first response (stopping where a
 * response is missing, kept no input, or the chain passes `maxChars` or MAX_CHAIN responses), and
 * the responses with the ids in `holders`.
 */
export function recallResponses(sql: SqlStorage, previous: string | null, holders: string[], maxChars: number): Recalled {
  const chain: StoredResponse[] = []
  let broken: BrokenChain | null = null
  let chars = 0
  for (let id = previous; id !== null; ) {
    const row = responseById(sql, id)
    if (!row) broken = { id, reason: 'missing' }
    else if (row.input === null) broken = { id, reason: 'input_not_kept' }
    else if (chain.length >= MAX_CHAIN || (chars += row.input.length + row.response.length) > maxChars) broken = { id, reason: 'too_large' }
    if (broken || !row) break
    chain.unshift(row)
    id = row.previous
  }
  const found = [...new Set(holders)].flatMap((id) => responseById(sql, id) ?? [])
  return { chain, broken, holders: found }
}

/**
 * Stored Responses API responses (POST /v1/responses with `store` on), in the key's object's
 * SQLite (the table is made in ./key-tables): what `previous_response_id`, `item_reference` and
 * GET /responses/{id} read back. A response's id is its generation id, so ids sort by time and
 * pruning by age needs no other index (pruneTimeOrdered). Each row is the request's own input
 * items (references resolved) and the response object, both JSON; the gateway parses them again
 * when it reads them (formats/responses/stored.ts).
 */

export interface StoredResponse extends Record<string, SqlStorageValue> {
  id: string
  /** The response it continued (its request's previous_response_id), or null. */
  previous: string | null
  /** The request's own input items, JSON; null when they were too large to keep. */
  input: string | null
  /** The response object, JSON. */
  response: string
  /** UTF-8 bytes of `input` and `response`: what the row holds of the key's storage. */
  bytes: number
}

/**
 * A stored response as a later request reads it: its own input items and its output items (JSON;
 * null when the row cannot be read), not the whole response object, which repeats instructions,
 * tools and settings that are not carried over.
 */
export interface RecalledResponse extends Record<string, SqlStorageValue> {
  id: string
  previous: string | null
  input: string | null
  output: string | null
}

/** A response as an `item_reference` reads it: only its output is needed. */
export type HeldResponse = Pick<RecalledResponse, 'id' | 'output'>

/** Where recalling stopped: a chain of previous responses that cannot be followed back, or too much asked for. */
export interface BrokenChain {
  id: string
  reason: 'missing' | 'input_not_kept' | 'too_large' | 'too_long'
}

export interface Recalled {
  /** previous_response_id and the responses before it, oldest first. */
  chain: RecalledResponse[]
  /** The stored responses that hold the referenced items (those that exist). */
  holders: HeldResponse[]
  broken: BrokenChain | null
}

/** The longest chain of previous responses followed; a longer one is `too_long`. */
export const MAX_CHAIN = 1_000

/** Stores a response; false when one of its id is stored already (kept as it was). */
export function insertResponse(sql: SqlStorage, row: StoredResponse): boolean {
  return sql.exec(
    'INSERT OR IGNORE INTO responses (id, previous, input, response, bytes) VALUES (?, ?, ?, ?, ?)',
    row.id,
    row.previous,
    row.input,
    row.response,
    row.bytes,
  ).rowsWritten > 0
}

/** A row's output items, as SQLite reads them out of its response object (a row that is not JSON has none). */
const OUTPUT = "CASE WHEN json_valid(response) THEN json_extract(response, '$.output') END AS output"

function recalledById(sql: SqlStorage, id: string): RecalledResponse | null {
  return sql.exec<RecalledResponse>(`SELECT id, previous, input, ${OUTPUT} FROM responses WHERE id = ?`, id).toArray()[0] ?? null
}

function heldById(sql: SqlStorage, id: string): HeldResponse | null {
  return sql.exec<HeldResponse>(`SELECT id, ${OUTPUT} FROM responses WHERE id = ?`, id).toArray()[0] ?? null
}

/** The stored response object (JSON), or null. */
export function responseObject(sql: SqlStorage, id: string): string | null {
  return sql.exec<{ response: string }>('SELECT response FROM responses WHERE id = ?', id).toArray()[0]?.response ?? null
}

/** A stored response's own input items (JSON; null when they were too large to keep), or null when there is no such response. */
export function responseInput(sql: SqlStorage, id: string): { input: string | null } | null {
  return sql.exec<{ input: string | null }>('SELECT input FROM responses WHERE id = ?', id).toArray()[0] ?? null
}

/** Deletes a stored response; false if there was none. */
export function deleteResponse(sql: SqlStorage, id: string): boolean {
  return sql.exec('DELETE FROM responses WHERE id = ?', id).rowsWritten > 0
}

/**
 * What a request names: the chain from `previous` back to its first response (stopping where a
 * response is missing or kept no input), and the responses with the ids in `holders`, each as its
 * input and output items. All of it stays within `maxChars` characters (the first response past
 * them is `too_large`) and MAX_CHAIN responses (`too_long`): what comes back is bounded, whatever the
 * request names, by what the conversation will hold.
 */
export function recallResponses(sql: SqlStorage, previous: string | null, holders: string[], maxChars: number): Recalled {
  const chain: RecalledResponse[] = []
  let chars = 0
  const fits = (row: { input?: string | null; output: string | null }) => (chars += (row.input?.length ?? 0) + (row.output?.length ?? 0)) <= maxChars
  for (let id = previous; id !== null; ) {
    const row = recalledById(sql, id)
    if (!row) return { chain, holders: [], broken: { id, reason: 'missing' } }
    if (row.input === null) return { chain, holders: [], broken: { id, reason: 'input_not_kept' } }
    if (chain.length >= MAX_CHAIN) return { chain, holders: [], broken: { id, reason: 'too_long' } }
    if (!fits(row)) return { chain, holders: [], broken: { id, reason: 'too_large' } }
    chain.unshift(row)
    id = row.previous
  }
  const held: HeldResponse[] = []
  for (const id of new Set(holders)) {
    const row = heldById(sql, id)
    if (row === null) continue
    if (!fits(row)) return { chain, holders: held, broken: { id, reason: 'too_large' } }
    held.push(row)
  }
  return { chain, holders: held, broken: null }
}

/** What the stored responses take of the key's storage, in bytes. */
export function storedBytes(sql: SqlStorage): number {
  return sql.exec<{ n: number }>('SELECT COALESCE(SUM(bytes), 0) AS n FROM responses').one().n
}

/**
 * Deletes the oldest stored responses until at least `excess` bytes are gone; returns the bytes
 * deleted. Only the rows deleted are read (responses_by_id_bytes holds their sizes in id order).
 */
export function pruneResponseBytes(sql: SqlStorage, excess: number): number {
  const oldest: string[] = []
  let freed = 0
  for (const row of sql.exec<{ id: string; bytes: number }>('SELECT id, bytes FROM responses ORDER BY id')) {
    if (freed >= excess) break
    oldest.push(row.id)
    freed += row.bytes
  }
  if (oldest.length > 0) sql.exec('DELETE FROM responses WHERE id IN (SELECT value FROM json_each(?))', JSON.stringify(oldest))
  return freed
}

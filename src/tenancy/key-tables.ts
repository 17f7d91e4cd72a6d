import { createdAtOfId, generationIdsFrom } from './generation'

/**
 * The key object's SQLite tables (./key-do decides; this only reads and writes): reservations,
 * open until settled or expired, and generation records. A call's rows go to SQLite in one
 * statement per table, as a JSON array parameter, rather than a statement per row (a busy key's
 * calls carry up to 64 settlements and LEASE_MAX_TICKETS tickets; SQLite's share of the samples in
 * `npm run bench:profile` fell from 6.2% to 5.0%).
 *
 * A generation record is two B-tree entries: its row, appended in arrival order, and its id in the
 * primary key's index. Ids sort by time (./generation), so that index also serves pruning by age.
 * (Clustering the records on their id, `WITHOUT ROWID`, would make it one entry, but a record lands
 * at a random place among its second's records, and a busy key's object wrote 2.5 times the bytes to
 * disk per request.) A reservation is clustered on its id: its row and its entry in the index the
 * alarm's sweep needs. Cloudflare bills each index entry written as a row written.
 */

export interface ReservationRow extends Record<string, SqlStorageValue> {
  id: string
  amount_nano: number
  tokens: number
  created_at: number
  expires_at: number
  state: string
}

/** A new open reservation. */
export interface NewReservation {
  id: string
  amountNano: number
  tokens: number
  createdAt: number
  expiresAt: number
}

/** A generation record, serialised (GenerationRecordSchema). */
export interface NewGeneration {
  id: string
  record: string
}

/** `IN ${JSON_LIST}` matches a JSON array of ids. */
const JSON_LIST = '(SELECT value FROM json_each(?))'

/** The tables' layout; an object whose storage has an older one moves its rows over once (createTables). */
const SCHEMA_VERSION = 2
const SCHEMA_KEY = 'schema'

const TABLES = [
  {
    name: 'reservations',
    columns: 'id, amount_nano, tokens, created_at, expires_at, state',
    create: `CREATE TABLE IF NOT EXISTS reservations (
      id TEXT PRIMARY KEY, amount_nano INTEGER NOT NULL, tokens INTEGER NOT NULL,
      created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, state TEXT NOT NULL) WITHOUT ROWID`,
  },
  {
    name: 'generations',
    columns: 'id, record',
    create: 'CREATE TABLE IF NOT EXISTS generations (id TEXT PRIMARY KEY, record TEXT NOT NULL)',
  },
  // Stored Responses API responses (./stored-responses), named by their generation ids.
  {
    name: 'responses',
    columns: 'id, previous, input, response, bytes',
    create: 'CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, previous TEXT, input TEXT, response TEXT NOT NULL, bytes INTEGER NOT NULL)',
  },
] as const

/** Creates the tables, moving an older layout's rows over first (version 1: rowid tables, a time index). One transaction. */
export function createTables(storage: DurableObjectStorage): void {
  const { sql, kv } = storage
  storage.transactionSync(() => {
    const upgrading = kv.get<number>(SCHEMA_KEY) !== SCHEMA_VERSION
    const exists = (name: string) => sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, name).toArray().length > 0
    for (const table of TABLES) {
      if (upgrading && exists(table.name)) {
        // Renaming takes the old table's indexes along; dropping it drops them. The old tables let
        // an id be NULL (none ever was): such a row could never be found, and is left behind.
        sql.exec(`DROP TABLE IF EXISTS ${table.name}_old`)
        sql.exec(`ALTER TABLE ${table.name} RENAME TO ${table.name}_old`)
        sql.exec(table.create)
        sql.exec(`INSERT INTO ${table.name} (${table.columns}) SELECT ${table.columns} FROM ${table.name}_old WHERE id IS NOT NULL`)
        sql.exec(`DROP TABLE ${table.name}_old`)
      }
      sql.exec(table.create)
    }
    sql.exec('CREATE INDEX IF NOT EXISTS reservations_by_state ON reservations (state, expires_at)')
    // Responses' sizes without their text: the byte cap's total and its oldest-first pruning read only this.
    sql.exec('CREATE INDEX IF NOT EXISTS responses_by_id_bytes ON responses (id, bytes)')
    if (upgrading) kv.put(SCHEMA_KEY, SCHEMA_VERSION)
  })
}

/** New open reservations, in one statement. A duplicate id throws (and fails the caller's transaction). */
export function insertReservations(sql: SqlStorage, rows: NewReservation[]): void {
  if (rows.length === 0) return
  sql.exec(
    `INSERT INTO reservations (id, amount_nano, tokens, created_at, expires_at, state)
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, 'open' FROM json_each(?)`,
    JSON.stringify(rows.map((row) => [row.id, row.amountNano, row.tokens, row.createdAt, row.expiresAt])),
  )
}

/** The reservations with these ids that exist, by id. */
export function reservationsById(sql: SqlStorage, ids: string[]): Map<string, ReservationRow> {
  const rows = sql.exec<ReservationRow>(`SELECT id, amount_nano, tokens, created_at, expires_at, state FROM reservations WHERE id IN ${JSON_LIST}`, JSON.stringify(ids)).toArray()
  return new Map(rows.map((row) => [row.id, row]))
}

export function markSettled(sql: SqlStorage, ids: string[]): void {
  if (ids.length === 0) return
  sql.exec(`UPDATE reservations SET state = 'settled' WHERE id IN ${JSON_LIST}`, JSON.stringify(ids))
}

/**
 * Marks these reservations expired, charged at `at`: their expiry becomes that time, so that a late
 * settlement corrects the period the charge fell in (an alarm may run past a period's start).
 */
export function expireReservations(sql: SqlStorage, ids: string[], at: number): void {
  if (ids.length === 0) return
  sql.exec(`UPDATE reservations SET state = 'expired', expires_at = MAX(expires_at, ?) WHERE id IN ${JSON_LIST}`, at, JSON.stringify(ids))
}

/** When the oldest settled or expired reservation expired, or null (reservations_by_state serves it). */
export function oldestClosedReservation(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>(`SELECT MIN(expires_at) AS at FROM reservations WHERE state IN ('settled', 'expired')`).toArray()[0]?.at ?? null
}

/** Moves the expiry of those of these reservations that are still open to `expiresAt`, never earlier. */
export function renewReservations(sql: SqlStorage, ids: string[], expiresAt: number): void {
  if (ids.length === 0) return
  sql.exec(`UPDATE reservations SET expires_at = MAX(expires_at, ?) WHERE state = 'open' AND id IN ${JSON_LIST}`, expiresAt, JSON.stringify(ids))
}

/** Open reservations that expired by `now`, oldest batch first. */
export function expiredReservations(sql: SqlStorage, now: number, limit: number): ReservationRow[] {
  return sql
    .exec<ReservationRow>(`SELECT id, amount_nano, tokens, expires_at, state FROM reservations WHERE state = 'open' AND expires_at <= ? LIMIT ?`, now, limit)
    .toArray()
}

/** When the next open reservation expires, or null. */
export function nextExpiry(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>(`SELECT MIN(expires_at) AS at FROM reservations WHERE state = 'open'`).toArray()[0]?.at ?? null
}

/** Forgets settled and expired reservations that expired before `before`. */
export function pruneReservations(sql: SqlStorage, before: number): void {
  // Named states, which reservations_by_state serves: `!= 'open'` walked the whole index at every sweep.
  sql.exec(`DELETE FROM reservations WHERE state IN ('settled', 'expired') AND expires_at < ?`, before)
}

/**
 * The most characters of records one statement binds: Durable Object SQLite takes a string of at
 * most 2 MB, and a character is at most 3 bytes of UTF-8 (a surrogate pair's two, 4).
 */
const MAX_BOUND_CHARACTERS = 600_000

/** Stores generation records, as few statements as the bound allows; one already stored is kept. */
export function insertGenerations(sql: SqlStorage, rows: NewGeneration[]): void {
  let batch: string[] = []
  let characters = 0
  const flush = () => {
    if (batch.length === 0) return
    sql.exec(`INSERT OR IGNORE INTO generations (id, record) SELECT value ->> 0, value ->> 1 FROM json_each(?)`, `[${batch.join(',')}]`)
    batch = []
    characters = 0
  }
  for (const row of rows) {
    const json = JSON.stringify([row.id, row.record])
    if (characters + json.length > MAX_BOUND_CHARACTERS) flush()
    batch.push(json)
    characters += json.length + 1
  }
  flush()
}

/** A stored generation record, serialised, or null. */
export function generationById(sql: SqlStorage, id: string): string | null {
  return sql.exec<{ record: string }>('SELECT record FROM generations WHERE id = ?', id).toArray()[0]?.record ?? null
}

/**
 * Of a table whose ids are generation ids (generation records, stored responses), keeps the rows
 * created at or after `before` (to the second), and of those at most the newest `keep`. Says
 * whether it deleted any, and when the oldest row left was created (null: none is left).
 */
export function pruneTimeOrdered(sql: SqlStorage, table: 'generations' | 'responses', before: number, keep: number): { deleted: boolean; oldest: number | null } {
  const expired = sql.exec(`DELETE FROM ${table} WHERE id < ?`, generationIdsFrom(before)).rowsWritten
  const surplus = sql.exec(`DELETE FROM ${table} WHERE id < (SELECT id FROM ${table} ORDER BY id DESC LIMIT 1 OFFSET ?)`, keep - 1).rowsWritten
  const oldest = sql.exec<{ id: string }>(`SELECT id FROM ${table} ORDER BY id LIMIT 1`).toArray()[0]?.id
  return { deleted: expired + surplus > 0, oldest: oldest === undefined ? null : createdAtOfId(oldest) }
}

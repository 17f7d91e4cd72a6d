import { generationIdsFrom } from './generation'

/**
 * The key object's SQLite tables (./key-do decides; this only reads and writes): reservations,
 * open until settled or expired, and generation records. A call's rows go to SQLite in one
 * statement per table, as a JSON array parameter, rather than a statement per row (a busy key's
 * calls carry up to 64 settlements and LEASE_MAX_TICKETS tickets; SQLite's share of the samples in
 * `npm run bench:profile` fell from 6.2% to 5.0%).
 *
 * Both tables are clustered on their id (`WITHOUT ROWID`): a row is one B-tree entry, not a rowid
 * entry plus a primary-key index entry. A generation record is one entry in all, since its id
 * sorts by time (./generation) and serves as the time index too; a reservation is two, with the
 * index the alarm's sweep needs. Every entry is a row written on Cloudflare's bill.
 */

export interface ReservationRow extends Record<string, SqlStorageValue> {
  id: string
  amount_nano: number
  tokens: number
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
    create: 'CREATE TABLE IF NOT EXISTS generations (id TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID',
  },
] as const

/** Creates the tables, moving an older object's rows over from the rowid tables it had. One transaction. */
export function createTables(storage: DurableObjectStorage): void {
  const { sql } = storage
  storage.transactionSync(() => {
    for (const table of TABLES) {
      const stored = sql.exec<{ sql: string }>(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, table.name).toArray()[0]
      if (stored && !stored.sql.includes('WITHOUT ROWID')) {
        // Renaming takes the old table's indexes along; dropping it drops them.
        sql.exec(`ALTER TABLE ${table.name} RENAME TO ${table.name}_rowid`)
        sql.exec(table.create)
        sql.exec(`INSERT INTO ${table.name} (${table.columns}) SELECT ${table.columns} FROM ${table.name}_rowid`)
        sql.exec(`DROP TABLE ${table.name}_rowid`)
      }
      sql.exec(table.create)
    }
    sql.exec('CREATE INDEX IF NOT EXISTS reservations_by_state ON reservations (state, expires_at)')
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
  const rows = sql.exec<ReservationRow>(`SELECT id, amount_nano, tokens, state FROM reservations WHERE id IN ${JSON_LIST}`, JSON.stringify(ids)).toArray()
  return new Map(rows.map((row) => [row.id, row]))
}

export function markReservations(sql: SqlStorage, ids: string[], state: 'settled' | 'expired'): void {
  if (ids.length === 0) return
  sql.exec(`UPDATE reservations SET state = ? WHERE id IN ${JSON_LIST}`, state, JSON.stringify(ids))
}

/** Open reservations that expired by `now`, oldest batch first. */
export function expiredReservations(sql: SqlStorage, now: number, limit: number): ReservationRow[] {
  return sql
    .exec<ReservationRow>(`SELECT id, amount_nano, tokens, state FROM reservations WHERE state = 'open' AND expires_at <= ? LIMIT ?`, now, limit)
    .toArray()
}

/** When the next open reservation expires, or null. */
export function nextExpiry(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>(`SELECT MIN(expires_at) AS at FROM reservations WHERE state = 'open'`).toArray()[0]?.at ?? null
}

/** Forgets settled and expired reservations that expired before `before`. */
export function pruneReservations(sql: SqlStorage, before: number): void {
  sql.exec(`DELETE FROM reservations WHERE state != 'open' AND expires_at < ?`, before)
}

/** Stores generation records in one statement; one already stored is kept. */
export function insertGenerations(sql: SqlStorage, rows: NewGeneration[]): void {
  if (rows.length === 0) return
  sql.exec(
    `INSERT OR IGNORE INTO generations (id, record) SELECT value ->> 0, value ->> 1 FROM json_each(?)`,
    JSON.stringify(rows.map((row) => [row.id, row.record])),
  )
}

/** A stored generation record, serialised, or null. */
export function generationById(sql: SqlStorage, id: string): string | null {
  return sql.exec<{ record: string }>('SELECT record FROM generations WHERE id = ?', id).toArray()[0]?.record ?? null
}

/** Keeps the records created at or after `before` (to the second), and of those at most the newest `keep`; returns how many are left. */
export function pruneGenerations(sql: SqlStorage, before: number, keep: number): number {
  sql.exec('DELETE FROM generations WHERE id < ?', generationIdsFrom(before))
  sql.exec('DELETE FROM generations WHERE id < (SELECT id FROM generations ORDER BY id DESC LIMIT 1 OFFSET ?)', keep - 1)
  return sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM generations').one().n
}

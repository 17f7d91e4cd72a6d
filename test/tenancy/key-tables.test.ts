import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { generationId } from '../../src/tenancy/generation'
import { createTables, generationById, insertGenerations, pruneTimeOrdered, reservationsById } from '../../src/tenancy/key-tables'

const DAY_MS = 86_400_000
const object = (name: string) => env.KEYS.get(env.KEYS.idFromName(name))
const at = (ms: number, suffix: string) => generationId(Math.floor(ms / 1000), suffix)

describe("the key object's tables", () => {
  it("moves an older object's rows into the current tables once, and drops the old tables and indexes", async () => {
    const tables = await runInDurableObject(object('tables-upgrade'), (_instance, state) => {
      const { sql } = state.storage
      // The object as an earlier version left it.
      sql.exec(`DROP TABLE IF EXISTS generations; DROP TABLE IF EXISTS reservations;
        CREATE TABLE reservations (id TEXT PRIMARY KEY, amount_nano INTEGER NOT NULL, tokens INTEGER NOT NULL,
          created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, state TEXT NOT NULL);
        CREATE INDEX reservations_by_state ON reservations (state, expires_at);
        CREATE TABLE generations (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, record TEXT NOT NULL);
        CREATE INDEX generations_by_time ON generations (created_at);
        INSERT INTO reservations VALUES ('gen-1-a', 500, 3, 1, 2, 'open');
        INSERT INTO generations VALUES ('gen-1-a', 1000, '{"id":"gen-1-a"}');`)
      state.storage.kv.delete('schema')
      createTables(state.storage)
      // A second start moves nothing (a rename onto the name taken here would throw).
      sql.exec(`CREATE TABLE generations_old (id TEXT)`)
      createTables(state.storage)
      sql.exec(`DROP TABLE generations_old`)
      return {
        schema: sql.exec<{ name: string; sql: string }>(`SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name`).toArray(),
        reservation: reservationsById(sql, ['gen-1-a']).get('gen-1-a'),
        record: generationById(sql, 'gen-1-a'),
      }
    })
    expect(tables.schema.map((entry) => entry.name).filter((name) => !/^(_cf_|sqlite_)/.test(name))).toEqual(['generations', 'reservations', 'reservations_by_state', 'responses', 'responses_by_id_bytes'])
    expect(tables.schema.find((entry) => entry.name === 'reservations')?.sql).toContain('WITHOUT ROWID')
    // Generation records stay in a rowid table: appended in arrival order (see key-tables.ts).
    expect(tables.schema.find((entry) => entry.name === 'generations')?.sql).toBe('CREATE TABLE generations (id TEXT PRIMARY KEY, record TEXT NOT NULL)')
    expect(tables.reservation).toEqual({ id: 'gen-1-a', amount_nano: 500, tokens: 3, created_at: 1, expires_at: 2, state: 'open' })
    expect(tables.record).toBe('{"id":"gen-1-a"}')
  })

  it('prunes generation records by the time their ids carry, then down to the newest few', async () => {
    const now = Date.UTC(2026, 10, 22, 12)
    const left = await runInDurableObject(object('tables-prune'), (_instance, state) => {
      // An object has tables once its key exists (KeyDO.create); this one names no key.
      createTables(state.storage)
      const { sql } = state.storage
      const ids = [at(now - 31 * DAY_MS, 'old'), at(now - 2 * DAY_MS, 'b'), at(now - DAY_MS, 'c'), at(now - 1000, 'd'), at(now, 'e')]
      insertGenerations(sql, ids.map((id) => ({ id, record: `"${id}"` })))
      const afterRetention = pruneTimeOrdered(sql, 'generations', now - 30 * DAY_MS, 100)
      const afterCap = pruneTimeOrdered(sql, 'generations', now - 30 * DAY_MS, 2)
      const kept = sql.exec<{ id: string }>('SELECT id FROM generations ORDER BY id').toArray().map((row) => row.id)
      return { afterRetention, afterCap, kept, expected: ids.slice(-2) }
    })
    // Each says whether it deleted, and when the oldest row left was created (to the second).
    expect(left.afterRetention).toEqual({ deleted: true, oldest: Math.floor((now - 2 * DAY_MS) / 1000) * 1000 })
    expect(left.afterCap).toEqual({ deleted: true, oldest: Math.floor((now - 1000) / 1000) * 1000 })
    expect(left.kept).toEqual(left.expected)
  })

  it('keeps what was created in the cut-off second, and everything when the cut-off is before 2001', async () => {
    const now = Date.UTC(2026, 10, 22, 12)
    const left = await runInDurableObject(object('tables-prune-edges'), (_instance, state) => {
      // An object has tables once its key exists (KeyDO.create); this one names no key.
      createTables(state.storage)
      const { sql } = state.storage
      const ids = [at(now - 1000, 'before'), at(now, 'same'), at(now + 999, 'same-second')]
      insertGenerations(sql, ids.map((id) => ({ id, record: '{}' })))
      // A retention of 10,000 days reaches back before the ids' ten-digit seconds began.
      const afterAncient = pruneTimeOrdered(sql, 'generations', now - 10_000 * DAY_MS, 100)
      const afterNow = pruneTimeOrdered(sql, 'generations', now + 500, 100)
      const kept = sql.exec<{ id: string }>('SELECT id FROM generations ORDER BY id').toArray().map((row) => row.id)
      return { afterAncient, afterNow, kept, expected: ids.slice(1) }
    })
    expect(left.afterAncient).toEqual({ deleted: false, oldest: now - 1000 })
    expect(left.afterNow).toEqual({ deleted: true, oldest: now })
    expect(left.kept).toEqual(left.expected)
  })

  it('a record already stored is kept as it was', async () => {
    const record = await runInDurableObject(object('tables-twice'), (_instance, state) => {
      // An object has tables once its key exists (KeyDO.create); this one names no key.
      createTables(state.storage)
      insertGenerations(state.storage.sql, [{ id: 'gen-5-x', record: 'first' }])
      insertGenerations(state.storage.sql, [{ id: 'gen-5-x', record: 'second' }])
      return generationById(state.storage.sql, 'gen-5-x')
    })
    expect(record).toBe('first')
  })
})

import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import type { KeyDO } from '../../src/tenancy/key-do'
import type { Ledger } from '../../src/tenancy/ledger'
import type { Settlement } from '../../src/tenancy/protocol'
import { createKey, installCatalog } from '../support/gateway'

/**
 * The key object over weeks (docs/quotas.md): what its alarm's sweep and its stores read as the
 * tables fill, when an idle key wakes, and how an expiry's correction lands at a period boundary.
 */
beforeAll(() => installCatalog())

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
const TTL_MS = 15 * 60_000

const stub = (hash: string) => env.KEYS.get(env.KEYS.idFromName(hash))
const count = (hash: string, table: string) =>
  runInDurableObject(stub(hash), (_instance, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n)

/** Runs `work` inside the key's object, counting the rows its SQLite statements read meanwhile. */
function rowsReadDuring(hash: string, work: (instance: KeyDO) => Promise<unknown> | unknown): Promise<number> {
  return runInDurableObject(stub(hash), async (instance: KeyDO, state) => {
    const { sql } = state.storage
    const exec = sql.exec
    const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = []
    Object.defineProperty(sql, 'exec', {
      configurable: true,
      writable: true,
      value: (query: string, ...bindings: unknown[]) => {
        const cursor = exec.call(sql, query, ...bindings)
        cursors.push(cursor)
        return cursor
      },
    })
    try {
      await work(instance)
    } finally {
      Reflect.deleteProperty(sql, 'exec')
    }
    return cursors.reduce((sum, cursor) => sum + cursor.rowsRead, 0)
  })
}

/** Runs `work` inside the key's object with these settings in its env. */
function withSettings<T>(hash: string, settings: Record<string, string>, work: (instance: KeyDO) => Promise<T> | T): Promise<T> {
  return runInDurableObject(stub(hash), async (instance: KeyDO) => {
    const own: unknown = Reflect.get(instance, 'env')
    Reflect.set(instance, 'env', { ...env, ...settings })
    try {
      return await work(instance)
    } finally {
      Reflect.set(instance, 'env', own)
    }
  })
}

const record = (id: string, now: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id, created_at: now, model_requested: 'm', api_type: 'completions', model: 'm', provider: 'p', provider_name: 'P', streamed: false, cancelled: false,
    status: 'success', http_status: 200, finish_reason: 'stop', native_finish_reason: 'stop', tokens_prompt: 1, tokens_completion: 1, tokens_cached: 0,
    tokens_reasoning: 0, usage_estimated: false, cost_nano: 1, latency_ms: 5, ttfb_ms: 5, attempts: [], error: null, ...extra,
  })

const ask = (id: string, now: number, worstCaseNano = 1_000) => ({ id, request: { now, candidates: [{ model: 'm', provider: 'p', worstCaseNano }], promptTokens: 1, maxAttempts: 4 } })

describe("the alarm's sweep on a key busy for a day", () => {
  it('forgets settled reservations past their day without reading the ones it keeps', async () => {
    const { hash } = await createKey({ name: 'busy-day' })
    const now = Date.now()
    await runInDurableObject(stub(hash), (_instance, state) => {
      const insert = (rows: number, prefix: string, expiresAt: number) =>
        state.storage.sql.exec(
          `WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < ?)
           INSERT INTO reservations (id, amount_nano, tokens, created_at, expires_at, state)
           SELECT ? || printf('%08d', v), 1000, 1, ?, ?, 'settled' FROM n`,
          rows, prefix, expiresAt - TTL_MS, expiresAt,
        )
      insert(20_000, 'gen-today-', now - 60_000)
      insert(100, 'gen-yesterday-', now - DAY_MS - HOUR_MS)
    })
    const read = await rowsReadDuring(hash, (instance) => instance.sweep(now))
    expect(await count(hash, 'reservations')).toBe(20_000)
    expect(read).toBeLessThan(1_000)
  })
})

describe('stored responses at RESPONSES_MAX_BYTES', () => {
  it('keeps a new one by deleting the oldest, reading little more than what goes', async () => {
    const { hash } = await createKey({ name: 'responses-at-cap' })
    const seconds = Math.floor(Date.now() / 1000)
    const row = (index: number) => ({ id: `gen-${seconds - 10_000 + index}-r`, previous: null, input: '[]', response: 'x'.repeat(99_998), bytes: 100_000 })
    const settings = { RESPONSES_MAX_BYTES: String(200 * 100_000) }
    await withSettings(hash, settings, async (instance) => {
      for (let index = 0; index < 200; index++) expect(await instance.keepResponse(row(index), Date.now())).toBe(true)
    })
    const read = await rowsReadDuring(hash, () => withSettings(hash, settings, (instance) => instance.keepResponse(row(200), Date.now())))
    expect(await count(hash, 'responses')).toBe(200)
    expect(read).toBeLessThan(50)
    // The oldest went, the newest stayed.
    const ids = await runInDurableObject(stub(hash), (_instance, state) => state.storage.sql.exec<{ id: string }>('SELECT id FROM responses ORDER BY id').toArray().map((r) => r.id))
    expect([ids[0], ids.at(-1)]).toEqual([row(1).id, row(200).id])
  })
})

describe('an idle key', () => {
  it('sleeps until something can be pruned, rather than waking every hour for 30 days', async () => {
    const { hash } = await createKey({ name: 'idle' })
    const now = Date.now()
    const id = `gen-${Math.floor(now / 1000)}-idle`
    await stub(hash).admit([ask(id, now)])
    await stub(hash).settle([{ id, now, costNano: 1, tokens: 1, record: record(id, now) }])
    await runInDurableObject(stub(hash), (instance: KeyDO) => instance.sweep(now + HOUR_MS))
    const alarm = await runInDurableObject(stub(hash), (_instance, state) => state.storage.getAlarm())
    expect(await count(hash, 'generations')).toBe(1)
    // The settled reservation may go a day after its expiry: the next sweep is then, not in an hour.
    expect(alarm).toBeGreaterThanOrEqual(now + 20 * HOUR_MS)
    expect(alarm).toBeLessThanOrEqual(now + TTL_MS + DAY_MS + 1000)
  })
})

describe('a reservation expired across midnight, settled after', () => {
  it('credits the day its expiry charged, so a daily limit is not spent by a request’s worst case', async () => {
    const { hash } = await createKey({ name: 'late-alarm', limit: 10_000 / 1e9, limit_reset: 'daily' })
    const midnight = Date.UTC(new Date().getUTCFullYear() + 1, 0, 15)
    const admittedAt = midnight - TTL_MS - 100
    expect((await stub(hash).admit([ask('gen-late', admittedAt, 9_000)]))[0]!.ok).toBe(true)
    // The alarm comes 600 ms late: the expiry charges the new day.
    await runInDurableObject(stub(hash), (instance: KeyDO) => instance.sweep(midnight + 500))
    const settlement: Settlement = { id: 'gen-late', now: midnight + 5 * 60_000, costNano: 1_000, tokens: 1, record: record('gen-late', admittedAt, { cost_nano: 1_000 }) }
    await stub(hash).settle([settlement])
    const ledger = await runInDurableObject(stub(hash), (_instance, state) => state.storage.kv.get<Ledger>('ledger'))
    expect(ledger).toMatchObject({ totalNano: 1_000, reservedNano: 0, inFlight: 0 })
    expect(ledger!.periods.daily.start).toBe(midnight)
    expect(ledger!.periods.daily.usedNano).toBeLessThanOrEqual(1_000)
    const [next] = await stub(hash).admit([ask('gen-next', midnight + 6 * 60_000, 2_000)])
    expect(next!.ok).toBe(true)
  })
})

describe('a reservation expired just before midnight by a key another clock moved past it', () => {
  it('credits the day that paid: an isolate a little ahead rolled the ledger to the new day first', async () => {
    const { hash } = await createKey({ name: 'skewed-midnight', limit: 10_000 / 1e9, limit_reset: 'daily' })
    const midnight = Date.UTC(new Date().getUTCFullYear() + 1, 1, 15)
    const admittedAt = midnight - TTL_MS - 100
    expect((await stub(hash).admit([ask('gen-skew', admittedAt, 9_000)]))[0]!.ok).toBe(true)
    // An isolate whose clock runs 5 ms ahead admits (and rolls the ledger to the new day) ...
    expect((await stub(hash).admit([ask('gen-ahead', midnight + 2, 500)]))[0]!.ok).toBe(true)
    // ... just before this object's alarm runs, by its own clock, 3 ms before midnight.
    await runInDurableObject(stub(hash), (instance: KeyDO) => instance.sweep(midnight - 3))
    const settlement: Settlement = { id: 'gen-skew', now: midnight + 5 * 60_000, costNano: 1_000, tokens: 1, record: record('gen-skew', admittedAt, { cost_nano: 1_000 }) }
    await stub(hash).settle([settlement])
    const ledger = await runInDurableObject(stub(hash), (_instance, state) => state.storage.kv.get<Ledger>('ledger'))
    expect(ledger!.periods.daily.start).toBe(midnight)
    // The new day paid the expiry's 9,000 in full; the late settlement brings it back to the real 1,000.
    expect(ledger!.periods.daily.usedNano).toBe(1_000)
  })
})

describe("a settlement batch's generation records", () => {
  it('go to SQLite in parameters within the 2 MB Durable Object SQLite allows a string, every one stored', async () => {
    const { hash } = await createKey({ name: 'fat-records' })
    const now = Date.now()
    const bytes = new Uint8Array(4096)
    for (let i = 0, x = 7; i < bytes.length; i++) bytes[i] = x = (x * 1103515245 + 12345) & 0xff
    const error = `Upstream 502: ${new TextDecoder().decode(bytes)}`.slice(0, 4096)
    const ids = Array.from({ length: 256 }, (_, index) => `gen-${Math.floor(now / 1000)}-${String(index).padStart(4, '0')}`)
    expect((await stub(hash).admit(ids.map((id) => ask(id, now)))).every((admission) => admission.ok)).toBe(true)
    const batch: Settlement[] = ids.map((id) => ({ id, now, costNano: 0, tokens: 0, record: record(id, now, { status: 'error', http_status: 502, cost_nano: 0, error }) }))
    let largest = 0
    await runInDurableObject(stub(hash), async (instance: KeyDO, state) => {
      const { sql } = state.storage
      const exec = sql.exec
      Object.defineProperty(sql, 'exec', {
        configurable: true,
        writable: true,
        value: (query: string, ...bindings: unknown[]) => {
          for (const value of bindings) if (typeof value === 'string') largest = Math.max(largest, new TextEncoder().encode(value).byteLength)
          return exec.call(sql, query, ...bindings)
        },
      })
      try {
        await instance.settle(batch)
      } finally {
        Reflect.deleteProperty(sql, 'exec')
      }
    })
    expect(largest).toBeLessThanOrEqual(2_000_000)
    expect(await count(hash, 'generations')).toBe(256)
  })
})

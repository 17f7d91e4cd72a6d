import { DurableObject } from 'cloudflare:workers'
import { configOf } from '../config'
import type { Env } from '../env'
import { GenerationRecordSchema, type GenerationRecord } from './generation'
import { KeyRecordSchema, patchKeyRecord, type KeyRecord, type PatchKeyInput } from './keys'
import {
  decideAdmission,
  emptyLedger,
  expireInLedger,
  settleLedger,
  type AdmissionRequest,
  type Ledger,
  type Refusal,
} from './ledger'

/**
 * One Durable Object per tenant key, named by the key's hash: the key record, its ledger, open
 * reservations and generation records. Every inference request is admitted here in one call, so
 * revocation and limits bite on the very next request and concurrent requests cannot overspend:
 * the object is single-threaded and admission checks and reserves in one step. All work per call
 * is O(1) (indexed lookups, no scans); sweeping and pruning happen in the alarm.
 */

export type Admission = { ok: true; allowed: number[] } | { ok: false; refusal: Refusal }

/** One request's admission: its generation id (names its reservation) and what it asks for. */
export interface AdmissionItem {
  id: string
  request: AdmissionRequest
}

const INVALID_KEY: Admission = { ok: false, refusal: { status: 401, message: 'Invalid API key', headers: {}, metadata: {} } }

/** A finished request's real cost, replacing its reservation. */
export interface Settlement {
  id: string
  now: number
  costNano: number
  /** Prompt + completion tokens actually used (for tokens_per_minute). */
  tokens: number
  /** When the request arrived (the generation record's created_at). */
  createdAt: number
  /** The generation record, serialised by the gateway (GenerationRecordSchema). */
  record: string
}

interface ReservationRow extends Record<string, SqlStorageValue> {
  id: string
  amount_nano: number
  tokens: number
  state: string
}

const RECORD = 'record'
const LEDGER = 'ledger'
const SWEEP_BATCH = 500
const HOUR_MS = 3_600_000

export class KeyDO extends DurableObject<Env> {
  // This object is the only writer of its storage, so what it last read or wrote is current:
  // admission works from memory and pays only for its writes.
  private cachedRecord: KeyRecord | null | undefined
  private cachedLedger: Ledger | undefined
  /** The scheduled alarm (null: none), once read; only this object sets or clears it. */
  private alarmAt: number | null | undefined

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.createTables()
  }

  private createTables(): void {
    this.ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS reservations (
        id TEXT PRIMARY KEY, amount_nano INTEGER NOT NULL, tokens INTEGER NOT NULL,
        created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, state TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS reservations_by_state ON reservations (state, expires_at);
      CREATE TABLE IF NOT EXISTS generations (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, record TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS generations_by_time ON generations (created_at);`)
  }

  private record(): KeyRecord | null {
    if (this.cachedRecord === undefined) {
      const stored = this.ctx.storage.kv.get<unknown>(RECORD)
      this.cachedRecord = stored === undefined ? null : KeyRecordSchema.parse(stored)
    }
    return this.cachedRecord
  }

  private saveRecord(record: KeyRecord): void {
    this.ctx.storage.kv.put(RECORD, record)
    this.cachedRecord = record
  }

  private ledger(now: number): Ledger {
    this.cachedLedger ??= this.ctx.storage.kv.get<Ledger>(LEDGER) ?? emptyLedger(now)
    return this.cachedLedger
  }

  private saveLedger(ledger: Ledger): void {
    this.ctx.storage.kv.put(LEDGER, ledger)
    this.cachedLedger = ledger
  }

  /** Stores a new key; false if this hash already has one (never overwrite). */
  create(record: KeyRecord): boolean {
    if (this.record()) return false
    this.saveRecord(record)
    return true
  }

  /** The record and its ledger (for the key views), or null for an unknown key. */
  read(now: number): { record: KeyRecord; ledger: Ledger } | null {
    const record = this.record()
    return record ? { record, ledger: this.ledger(now) } : null
  }

  update(patch: PatchKeyInput, now: number): { record: KeyRecord; ledger: Ledger } | null {
    const current = this.record()
    if (!current) return null
    const record = patchKeyRecord(current, patch, new Date(now).toISOString())
    this.saveRecord(record)
    return { record, ledger: this.ledger(now) }
  }

  async remove(): Promise<boolean> {
    const existed = this.record() !== null
    await this.ctx.storage.deleteAlarm()
    await this.ctx.storage.deleteAll()
    // The instance may live on (a late call for the deleted key): its queries need the tables.
    this.createTables()
    this.cachedRecord = null
    this.cachedLedger = undefined
    this.alarmAt = null
    return existed
  }

  /**
   * The one admission call per inference request: check every limit and reserve the worst case.
   * A call may carry several requests of this key (coalesced by the gateway isolate); each is
   * decided exactly as it would be alone, in the order the call lists them, against the ledger as
   * the ones before it left it. Settlements of the key's finished requests ride along and are
   * applied first, so they free their reservations before anything is judged: a busy key needs no
   * settlement calls. All of it is one storage transaction.
   */
  async admit(items: AdmissionItem[], settlements: Settlement[] = []): Promise<Admission[]> {
    const key = this.record()
    const first = items[0]
    if (!first) {
      await this.settle(settlements)
      return []
    }
    if (!key) return items.map(() => INVALID_KEY)
    const ttl = configOf(this.env).RESERVATION_TTL_MS
    const { admissions, alarmAt } = this.atomically(() => {
      const before = this.ledger(first.request.now)
      const settled = this.applySettlements(before, settlements)
      let ledger = settled.ledger
      let alarmAt = settled.latest === null ? null : settled.latest + HOUR_MS
      const admissions = items.map(({ id, request }): Admission => {
        const decision = decideAdmission(key, ledger, request)
        if (!decision.ok) return decision
        const expiresAt = request.now + ttl
        this.ctx.storage.sql.exec(
          `INSERT INTO reservations (id, amount_nano, tokens, created_at, expires_at, state) VALUES (?, ?, ?, ?, ?, 'open')`,
          id,
          decision.reserveNano,
          decision.reserveTokens,
          request.now,
          expiresAt,
        )
        ledger = decision.ledger
        alarmAt = Math.min(alarmAt ?? expiresAt, expiresAt)
        return { ok: true, allowed: decision.allowed }
      })
      if (ledger !== before) this.saveLedger(ledger)
      return { admissions, alarmAt }
    })
    if (alarmAt !== null) await this.scheduleAlarm(alarmAt)
    return admissions
  }

  /** Settlements no admission carried (an idle key's last requests). Idempotent; one transaction. */
  async settle(settlements: Settlement[]): Promise<void> {
    const first = settlements[0]
    // A deleted key's late settlements must not bring its storage back.
    if (!first || !this.record()) return
    const latest = this.atomically(() => {
      const before = this.ledger(first.now)
      const settled = this.applySettlements(before, settlements)
      if (settled.ledger !== before) this.saveLedger(settled.ledger)
      return settled.latest
    })
    if (latest !== null) await this.scheduleAlarm(latest + HOUR_MS)
  }

  /** Runs `write` as one storage transaction: if it throws, nothing of it is kept, in storage or in memory. */
  private atomically<T>(write: () => T): T {
    try {
      return this.ctx.storage.transactionSync(write)
    } catch (error) {
      this.cachedLedger = undefined
      throw error
    }
  }

  /**
   * Replaces each reservation with its real cost (in the returned ledger; the caller writes it)
   * and stores the generation records. A settlement seen before is ignored. `latest`: the latest
   * settlement time, null when there were none.
   */
  private applySettlements(ledger: Ledger, settlements: Settlement[]): { ledger: Ledger; latest: number | null } {
    let latest: number | null = null
    for (const settlement of settlements) {
      latest = Math.max(latest ?? settlement.now, settlement.now)
      const row = this.ctx.storage.sql
        .exec<ReservationRow>('SELECT id, amount_nano, tokens, state FROM reservations WHERE id = ?', settlement.id)
        .toArray()[0]
      if (row?.state === 'settled') continue
      if (row) {
        const reservation = { amountNano: row.amount_nano, tokens: row.tokens, expired: row.state === 'expired' }
        ledger = settleLedger(ledger, reservation, settlement.costNano, settlement.tokens, settlement.now)
        this.ctx.storage.sql.exec(`UPDATE reservations SET state = 'settled' WHERE id = ?`, settlement.id)
      }
      this.ctx.storage.sql.exec(
        'INSERT OR IGNORE INTO generations (id, created_at, record) VALUES (?, ?, ?)',
        settlement.id,
        settlement.createdAt,
        settlement.record,
      )
    }
    return { ledger, latest }
  }

  generation(id: string): GenerationRecord | null {
    const row = this.ctx.storage.sql.exec<{ record: string }>('SELECT record FROM generations WHERE id = ?', id).toArray()[0]
    return row ? GenerationRecordSchema.parse(JSON.parse(row.record)) : null
  }

  /** Expires abandoned reservations (charging them in full) and prunes old records. */
  override async alarm(): Promise<void> {
    // A delivered alarm is no longer scheduled; the sweep sets the next one.
    this.alarmAt = null
    await this.sweep(Date.now())
  }

  async sweep(now: number): Promise<void> {
    const config = configOf(this.env)
    const expired = this.ctx.storage.sql
      .exec<ReservationRow>(
        `SELECT id, amount_nano, tokens, state FROM reservations WHERE state = 'open' AND expires_at <= ? LIMIT ?`,
        now,
        SWEEP_BATCH,
      )
      .toArray()
    let ledger = this.ledger(now)
    for (const row of expired) {
      ledger = expireInLedger(ledger, { amountNano: row.amount_nano, tokens: row.tokens, expired: false }, now)
      this.ctx.storage.sql.exec(`UPDATE reservations SET state = 'expired' WHERE id = ?`, row.id)
    }
    if (expired.length > 0) this.saveLedger(ledger)
    // Settled and expired rows are kept a day so that a late settlement still finds them.
    this.ctx.storage.sql.exec(`DELETE FROM reservations WHERE state != 'open' AND expires_at < ?`, now - 24 * HOUR_MS)
    this.ctx.storage.sql.exec('DELETE FROM generations WHERE created_at < ?', now - config.GENERATION_RETENTION_DAYS * 24 * HOUR_MS)
    this.ctx.storage.sql.exec(
      `DELETE FROM generations WHERE created_at < (SELECT created_at FROM generations ORDER BY created_at DESC LIMIT 1 OFFSET ?)`,
      config.GENERATION_MAX_RECORDS - 1,
    )
    const next = this.ctx.storage.sql
      .exec<{ at: number | null }>(`SELECT MIN(expires_at) AS at FROM reservations WHERE state = 'open'`)
      .toArray()[0]?.at
    const records = this.ctx.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM generations').one().n
    if (next != null) await this.setAlarm(Math.max(next, now + 1000))
    else if (records > 0 || expired.length === SWEEP_BATCH) await this.setAlarm(now + HOUR_MS)
  }

  /** Brings the alarm forward to `at` if it is later or unset. */
  private async scheduleAlarm(at: number): Promise<void> {
    // undefined: not read yet; null: read, and no alarm is set.
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm()
    if (this.alarmAt === null || this.alarmAt > at) await this.setAlarm(at)
  }

  private async setAlarm(at: number): Promise<void> {
    await this.ctx.storage.setAlarm(at)
    this.alarmAt = at
  }
}

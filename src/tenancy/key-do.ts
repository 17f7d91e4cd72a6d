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

export type Admission = { ok: true; key: KeyRecord; allowed: number[] } | { ok: false; refusal: Refusal }

export interface Settlement {
  id: string
  now: number
  costNano: number
  /** Prompt + completion tokens actually used (for tokens_per_minute). */
  tokens: number
  record: GenerationRecord
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

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    ctx.storage.sql.exec(`
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
    this.cachedRecord = null
    this.cachedLedger = undefined
    return existed
  }

  /** The one admission call per inference request: check every limit and reserve the worst case. */
  async admit(id: string, request: AdmissionRequest): Promise<Admission> {
    const key = this.record()
    if (!key) return { ok: false, refusal: { status: 401, message: 'Invalid API key', headers: {}, metadata: {} } }
    const decision = decideAdmission(key, this.ledger(request.now), request)
    if (!decision.ok) return decision
    const expiresAt = request.now + configOf(this.env).RESERVATION_TTL_MS
    this.ctx.storage.sql.exec(
      `INSERT INTO reservations (id, amount_nano, tokens, created_at, expires_at, state) VALUES (?, ?, ?, ?, ?, 'open')`,
      id,
      decision.reserveNano,
      decision.reserveTokens,
      request.now,
      expiresAt,
    )
    this.saveLedger(decision.ledger)
    await this.scheduleAlarm(expiresAt)
    return { ok: true, key, allowed: decision.allowed }
  }

  /** Replaces a reservation with the real cost and stores the generation record. Idempotent. */
  async settle(settlement: Settlement): Promise<void> {
    const row = this.ctx.storage.sql
      .exec<ReservationRow>('SELECT id, amount_nano, tokens, state FROM reservations WHERE id = ?', settlement.id)
      .toArray()[0]
    if (row?.state === 'settled') return
    if (row) {
      const reservation = { amountNano: row.amount_nano, tokens: row.tokens, expired: row.state === 'expired' }
      const ledger = settleLedger(this.ledger(settlement.now), reservation, settlement.costNano, settlement.tokens, settlement.now)
      this.saveLedger(ledger)
      this.ctx.storage.sql.exec(`UPDATE reservations SET state = 'settled' WHERE id = ?`, settlement.id)
    }
    this.storeGeneration(settlement.record)
    await this.scheduleAlarm(settlement.now + HOUR_MS)
  }

  generation(id: string): GenerationRecord | null {
    const row = this.ctx.storage.sql.exec<{ record: string }>('SELECT record FROM generations WHERE id = ?', id).toArray()[0]
    return row ? GenerationRecordSchema.parse(JSON.parse(row.record)) : null
  }

  /** Expires abandoned reservations (charging them in full) and prunes old records. */
  override async alarm(): Promise<void> {
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
    if (next != null) await this.ctx.storage.setAlarm(Math.max(next, now + 1000))
    else if (records > 0 || expired.length === SWEEP_BATCH) await this.ctx.storage.setAlarm(now + HOUR_MS)
  }

  private storeGeneration(record: GenerationRecord): void {
    this.ctx.storage.sql.exec(
      'INSERT OR IGNORE INTO generations (id, created_at, record) VALUES (?, ?, ?)',
      record.id,
      record.created_at,
      JSON.stringify(record),
    )
  }

  private async scheduleAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm()
    if (current === null || current > at) await this.ctx.storage.setAlarm(at)
  }
}

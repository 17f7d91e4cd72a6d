import { DurableObject } from 'cloudflare:workers'
import { configOf } from '../config'
import type { Env } from '../env'
import { decideCount } from './counting'
import { GenerationRecordSchema, type GenerationRecord } from './generation'
import { KeyRecordSchema, patchKeyRecord, type KeyRecord, type PatchKeyInput } from './keys'
import { Leases } from './leases'
import { decideAdmission, decideTickets, emptyLedger, expireInLedger, withRates, type AdmissionRequest, type Ledger, type Refusal } from './ledger'
import type { Admission, AdmissionItem, CountAdmission, Settlement, TicketGrant } from './protocol'
import { applySettlements } from './settlements'
import {
  createTables,
  expiredReservations,
  expireReservations,
  generationById,
  insertReservations,
  nextExpiry,
  oldestClosedReservation,
  pruneReservations,
  pruneTimeOrdered,
  renewReservations,
  type NewReservation,
} from './key-tables'
import {
  deleteResponse,
  insertResponse,
  pruneResponseBytes,
  recallResponses,
  responseInput,
  responseObject,
  storedBytes,
  type Recalled,
  type StoredResponse,
} from './stored-responses'

/**
 * One Durable Object per tenant key, named by the key's hash: the key record, its ledger, open
 * reservations, generation records and stored Responses API responses. Every inference request is admitted here, in one call or
 * by a ticket decided here ahead (decideTickets), so revocation and limits bite on the very next
 * request (a key change waits out the tickets) and concurrent requests cannot overspend: the
 * object is single-threaded and admission checks and reserves in one step. All work per call
 * is O(1) (indexed lookups, no scans); sweeping and pruning happen in the alarm.
 */

const INVALID_KEY: { ok: false; refusal: Refusal } = { ok: false, refusal: { status: 401, message: 'Invalid API key', headers: {}, metadata: {} } }

const RECORD = 'record'
const LEDGER = 'ledger'
const SWEEP_BATCH = 500
const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

export class KeyDO extends DurableObject<Env> {
  // This object is the only writer of its storage, so what it last read or wrote is current:
  // admission works from memory and pays only for its writes.
  private cachedRecord: KeyRecord | null | undefined
  private cachedLedger: Ledger | undefined
  /** The scheduled alarm (null: none), once read; only this object sets or clears it. */
  private alarmAt: number | null | undefined
  private readonly leases: Leases
  /** What the stored responses take of the storage (bytes), once read. */
  private responseBytes: number | undefined

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    // Only a key that exists has tables: an object named by a guessed or deleted key (any bearer
    // token names one) keeps no storage, which would otherwise be billed for good.
    if (this.record()) createTables(this.ctx.storage)
    this.leases = new Leases(this.ctx.storage.kv)
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
    createTables(this.ctx.storage)
    this.saveRecord(record)
    return true
  }

  /** The record and its ledger (for the key views), or null for an unknown key. */
  read(now: number): { record: KeyRecord; ledger: Ledger } | null {
    const record = this.record()
    return record ? { record, ledger: this.ledger(now) } : null
  }

  /**
   * Changes the key. Admissions see the change at once; the answer waits until every ticket
   * granted before it has lapsed, so no request starting after the answer runs on the old record.
   */
  async update(patch: PatchKeyInput, now: number): Promise<{ record: KeyRecord; ledger: Ledger } | null> {
    const current = this.record()
    const record = current && patchKeyRecord(current, patch, new Date(now).toISOString())
    if (record) this.saveRecord(record)
    if (current && record && patch.rate_limit !== undefined) this.saveLedger(withRates(this.ledger(now), current.policy, record.policy, now))
    // Also for a missing key (deleted a moment ago, maybe): a retry must not answer before the
    // deletion's tickets lapse.
    await this.leases.lapsed(now, configOf(this.env).LEASE_MS)
    return record && { record, ledger: this.ledger(now) }
  }

  /** Deletes the key; like update, answers once the tickets granted before have lapsed. */
  async remove(now: number): Promise<boolean> {
    const existed = this.record() !== null
    // Admissions that arrive from here on find no key, so no ticket is granted after this read.
    this.cachedRecord = null
    const leased = this.leases.current()
    await this.ctx.storage.deleteAlarm()
    // The tables go too: every later call finds no key and reads none of them.
    await this.ctx.storage.deleteAll()
    this.cachedRecord = null
    this.cachedLedger = undefined
    this.responseBytes = undefined
    this.alarmAt = null
    // Kept (and still cached), so that a retried DELETE or PATCH waits for the tickets granted before this one.
    if (leased) this.leases.keep(leased)
    await this.leases.lapsed(now, configOf(this.env).LEASE_MS, leased)
    return existed
  }

  /**
   * The one admission call per inference request: check every limit and reserve the worst case.
   * A call may carry several requests of this key (coalesced by the gateway isolate); each is
   * decided exactly as it would be alone, in the order the call lists them, against the ledger as
   * the ones before it left it. Settlements of the key's finished requests ride along and are
   * applied first, so they free their reservations before anything is judged: a busy key needs no
   * settlement calls. An item that offers spare ids may get some of them back as tickets
   * (decideTickets), each reserved like an admission. All of it is one storage transaction.
   */
  async admit(items: AdmissionItem[], settlements: Settlement[] = []): Promise<Admission[]> {
    const key = this.record()
    const first = items[0]
    if (!first) {
      await this.settle(settlements)
      return []
    }
    if (!key) return items.map(() => INVALID_KEY)
    const { RESERVATION_TTL_MS: ttl, LEASE_MS: leaseMs, LEASE_MAX_TICKETS: maxTickets } = configOf(this.env)
    const { admissions, alarmAt } = this.atomically(() => {
      const before = this.ledger(first.request.now)
      const settled = applySettlements(this.ctx.storage.sql, before, settlements)
      let ledger = settled.ledger
      let alarmAt = settled.latest === null ? null : settled.latest + HOUR_MS
      const reserved: NewReservation[] = []
      const reserve = (id: string, request: AdmissionRequest, amountNano: number, tokens: number) => {
        const expiresAt = request.now + ttl
        reserved.push({ id, amountNano, tokens, createdAt: request.now, expiresAt })
        alarmAt = Math.min(alarmAt ?? expiresAt, expiresAt)
      }
      const admissions = items.map(({ id, request }): Admission => {
        const decision = decideAdmission(key, ledger, request)
        if (!decision.ok) return decision
        reserve(id, request, decision.reserveNano, decision.reserveTokens)
        ledger = decision.ledger
        return { ok: true, allowed: decision.allowed }
      })
      // Tickets come after every request of the call: a request that is here now goes first.
      items.forEach(({ request, spares = [] }, index) => {
        const admission = admissions[index]
        if (!admission?.ok || spares.length === 0 || leaseMs === 0) return
        const leaseEnd = request.now + leaseMs
        const tickets = decideTickets(key, ledger, request, Math.min(spares.length, maxTickets), leaseEnd)
        const granted = spares.slice(0, tickets.granted)
        for (const spare of granted) reserve(spare, request, tickets.reserveNano, tickets.reserveTokens)
        if (granted.length > 0) this.leases.extend(leaseEnd, leaseMs)
        ledger = tickets.ledger
        const { allowedModels, allowedProviders } = key.policy
        const grant: TicketGrant = { ids: granted, reserveNano: tickets.reserveNano, lists: { allowedModels, allowedProviders }, until: leaseEnd }
        admissions[index] = { ...admission, tickets: grant }
      })
      insertReservations(this.ctx.storage.sql, reserved)
      if (ledger !== before) this.saveLedger(ledger)
      return { admissions, alarmAt }
    })
    if (alarmAt !== null) await this.scheduleAlarm(alarmAt)
    return admissions
  }

  /** A token count's one call: refused, or the key's record, one count taken from its bucket (./counting). */
  admitCount(now: number): CountAdmission {
    const key = this.record()
    if (!key) return INVALID_KEY
    const before = this.ledger(now)
    const decision = decideCount(key, before, now)
    if (!decision.ok) return decision
    if (decision.ledger !== before) this.saveLedger(decision.ledger)
    return { ok: true, record: key }
  }

  /** Settlements no admission carried (an idle key's last requests). Idempotent; one transaction. */
  async settle(settlements: Settlement[]): Promise<void> {
    const first = settlements[0]
    // A deleted key's late settlements must not bring its storage back.
    if (!first || !this.record()) return
    const latest = this.atomically(() => {
      const before = this.ledger(first.now)
      const settled = applySettlements(this.ctx.storage.sql, before, settlements)
      if (settled.ledger !== before) this.saveLedger(settled.ledger)
      return settled.latest
    })
    if (latest !== null) await this.scheduleAlarm(latest + HOUR_MS)
  }

  /**
   * Keeps running requests' reservations from expiring: each one still open now expires
   * RESERVATION_TTL_MS from `now` (never sooner than it did). A stream has no total timeout, so
   * one that outlives the TTL is renewed while it runs (gateway/renewal.ts), rather than charged in
   * full with its concurrency slot freed. The alarm needs no change: when it comes, the sweep finds
   * the reservation not yet due and sets the next one from the new expiry.
   */
  renew(ids: string[], now: number): void {
    if (!this.record()) return
    renewReservations(this.ctx.storage.sql, ids, now + configOf(this.env).RESERVATION_TTL_MS)
  }

  /** Runs `write` as one storage transaction: if it throws, nothing of it is kept, in storage or in memory. */
  private atomically<T>(write: () => T): T {
    try {
      return this.ctx.storage.transactionSync(write)
    } catch (error) {
      this.cachedLedger = undefined
      this.leases.forget()
      throw error
    }
  }

  /**
   * Stores a Responses API response (POST /v1/responses with store on), making room under
   * RESPONSES_MAX_BYTES by deleting the oldest; false for a key that does not exist, or a response
   * larger than that.
   */
  async keepResponse(row: StoredResponse, now: number): Promise<boolean> {
    const maxBytes = configOf(this.env).RESPONSES_MAX_BYTES
    if (!this.record() || row.bytes > maxBytes) return false
    const { sql } = this.ctx.storage
    const inserted = insertResponse(sql, row)
    this.responseBytes = this.responseBytes === undefined ? storedBytes(sql) : this.responseBytes + (inserted ? row.bytes : 0)
    if (this.responseBytes > maxBytes) this.responseBytes -= pruneResponseBytes(sql, this.responseBytes - maxBytes)
    await this.scheduleAlarm(now + HOUR_MS)
    return true
  }

  /** The stored responses a Responses request names (see recallResponses); null for a key that does not exist. */
  recallResponses(previous: string | null, holders: string[], maxChars: number): Recalled | null {
    return this.record() ? recallResponses(this.ctx.storage.sql, previous, holders, maxChars) : null
  }

  /** A stored response object (JSON), or null. */
  storedResponse(id: string): string | null {
    if (!this.record()) return null
    return responseObject(this.ctx.storage.sql, id)
  }

  storedInput(id: string): { input: string | null } | null {
    if (!this.record()) return null
    return responseInput(this.ctx.storage.sql, id)
  }

  forgetResponse(id: string): boolean {
    if (!this.record()) return false
    this.responseBytes = undefined
    return deleteResponse(this.ctx.storage.sql, id)
  }

  generation(id: string): GenerationRecord | null {
    if (!this.record()) return null
    const record = generationById(this.ctx.storage.sql, id)
    return record === null ? null : GenerationRecordSchema.parse(JSON.parse(record))
  }

  /** Expires abandoned reservations (charging them in full) and prunes old records. */
  override async alarm(): Promise<void> {
    // A delivered alarm is no longer scheduled; the sweep sets the next one.
    this.alarmAt = null
    await this.sweep(Date.now())
  }

  async sweep(now: number): Promise<void> {
    if (!this.record()) return
    const config = configOf(this.env)
    const { sql } = this.ctx.storage
    // Charging and marking are one transaction: a row marked expired is charged, and only once.
    const expired = this.atomically(() => {
      const rows = expiredReservations(sql, now, SWEEP_BATCH)
      let ledger = this.ledger(now)
      for (const row of rows) ledger = expireInLedger(ledger, { amountNano: row.amount_nano, tokens: row.tokens, createdAt: row.created_at, expired: false, expiresAt: row.expires_at }, now)
      // Charged in the ledger's current period, which an isolate whose clock runs a little ahead
      // may have moved past this object's midnight: the charge is dated in it, so that a late
      // settlement credits the period that paid.
      expireReservations(sql, rows.map((row) => row.id), Math.max(now, ledger.periods.daily.start))
      if (rows.length > 0) this.saveLedger(ledger)
      return rows
    })
    // Settled and expired rows are kept a day so that a late settlement still finds them.
    pruneReservations(sql, now - DAY_MS)
    const recordsKept = config.GENERATION_RETENTION_DAYS * DAY_MS
    const responsesKept = config.RESPONSES_RETENTION_DAYS * DAY_MS
    const records = pruneTimeOrdered(sql, 'generations', now - recordsKept, config.GENERATION_MAX_RECORDS)
    const responses = pruneTimeOrdered(sql, 'responses', now - responsesKept, config.RESPONSES_MAX_STORED)
    let bytes = responses.deleted ? storedBytes(sql) : (this.responseBytes ?? storedBytes(sql))
    if (bytes > config.RESPONSES_MAX_BYTES) bytes -= pruneResponseBytes(sql, bytes - config.RESPONSES_MAX_BYTES)
    this.responseBytes = bytes
    // The next sweep: the next open reservation's expiry, or when the oldest row kept can go (new rows
    // bring it forward as they come), not every hour for an idle key.
    const next = nextExpiry(sql)
    const closed = oldestClosedReservation(sql)
    const prunable = [
      closed === null ? null : closed + DAY_MS,
      records.oldest === null ? null : records.oldest + recordsKept,
      responses.oldest === null ? null : responses.oldest + responsesKept,
    ].flatMap((at) => (at === null ? [] : [Math.max(at + 1000, now + HOUR_MS)]))
    const wake = [...(next === null ? [] : [Math.max(next, now + 1000)]), ...(expired.length === SWEEP_BATCH ? [now + 1000] : []), ...prunable]
    if (wake.length > 0) await this.setAlarm(Math.min(...wake))
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

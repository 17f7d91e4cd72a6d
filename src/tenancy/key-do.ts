import { DurableObject } from 'cloudflare:workers'
import type { Env } from '../env'
import { keyRefusal, KeyRecordSchema, patchKeyRecord, type KeyRecord, type KeyRefusal, type PatchKeyInput } from './keys'

/**
 * One Durable Object per tenant key, named by the key's hash: the authoritative key record.
 * Every inference request is admitted here, so disabling or deleting a key bites on the very next
 * request. Methods are synchronous over SQLite-backed storage: no await, no interleaving.
 */

export type Admission = { ok: true; key: KeyRecord } | { ok: false; refusal: KeyRefusal }

const RECORD = 'record'

export class KeyDO extends DurableObject<Env> {
  private record(): KeyRecord | null {
    const stored = this.ctx.storage.kv.get<unknown>(RECORD)
    return stored === undefined ? null : KeyRecordSchema.parse(stored)
  }

  /** Stores a new key; false if this hash already has one (a 2^-256 event, but never overwrite). */
  create(record: KeyRecord): boolean {
    if (this.record()) return false
    this.ctx.storage.kv.put(RECORD, record)
    return true
  }

  read(): KeyRecord | null {
    return this.record()
  }

  update(patch: PatchKeyInput, nowIso: string): KeyRecord | null {
    const current = this.record()
    if (!current) return null
    const next = patchKeyRecord(current, patch, nowIso)
    this.ctx.storage.kv.put(RECORD, next)
    return next
  }

  async remove(): Promise<boolean> {
    const existed = this.record() !== null
    await this.ctx.storage.deleteAll()
    return existed
  }

  /** The one admission call per inference request. `now` comes from the caller's clock. */
  admit(now: number): Admission {
    const key = this.record()
    if (!key) return { ok: false, refusal: { status: 401, message: 'Invalid API key' } }
    const refusal = keyRefusal(key, now)
    return refusal ? { ok: false, refusal } : { ok: true, key }
  }
}

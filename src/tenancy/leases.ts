import { sleep } from '../clock'

/**
 * A key object's record of the tickets it has granted (docs/quotas.md "Admission leases"): when
 * the latest one lapses, on the granting isolate's clock, and the lease it had. A change to the
 * key answers only once they have lapsed, so no request starting after the answer runs on the old
 * record. Kept in the object's synchronous KV; the object is its only writer, so what it last read
 * or wrote is current.
 */

export interface Leased {
  until: number
  leaseMs: number
}

const LEASED_UNTIL = 'lease'

/** How long past a lease's end a key change waits, for the skew between the granting isolate's clock and the admin call's. */
const LEASE_MARGIN_MS = 100

export class Leases {
  private cached: Leased | null | undefined

  constructor(private readonly kv: SyncKvStorage) {}

  current(): Leased | null {
    if (this.cached === undefined) this.cached = this.kv.get<Leased>(LEASED_UNTIL) ?? null
    return this.cached
  }

  /** Records a grant's lease, if it ends later or is longer than what is recorded. */
  extend(until: number, leaseMs: number): void {
    const leased = this.current()
    if (leased && until <= leased.until && leaseMs <= leased.leaseMs) return
    this.keep({ until: Math.max(until, leased?.until ?? 0), leaseMs: Math.max(leaseMs, leased?.leaseMs ?? 0) })
  }

  /** Writes `leased` back (after the object's storage was cleared, so a retried change still waits for it). */
  keep(leased: Leased): void {
    this.kv.put(LEASED_UNTIL, leased)
    this.cached = leased
  }

  /** Forgets what was read (a transaction that wrote it was rolled back). */
  forget(): void {
    this.cached = undefined
  }

  /**
   * Waits (in real time) until the tickets granted up to `leased.until` have lapsed; at once when
   * none are out. Never longer than a lease (the longer of the latest grant's and `leaseMs`, the
   * current setting) plus the margin, whatever the clocks say.
   */
  async lapsed(now: number, leaseMs: number, leased = this.current()): Promise<void> {
    if (!leased) return
    const longest = Math.max(leased.leaseMs, leaseMs) + LEASE_MARGIN_MS
    const waitMs = Math.min(leased.until + LEASE_MARGIN_MS - now, longest)
    if (waitMs > 0) await sleep(waitMs)
  }
}

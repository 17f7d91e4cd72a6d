import { insertGenerations, markSettled, reservationsById, type NewGeneration } from './key-tables'
import { releaseLedger, settleLedger, type Ledger } from './ledger'
import type { Settlement } from './protocol'

/**
 * Settlement in a key's object (./key-do), inside the storage transaction of the call that
 * carried it: replaces each reservation with its real cost (in the returned ledger; the caller
 * writes it) and stores the generation records; frees released tickets. A settlement seen before is
 * ignored. `latest`: the latest settlement time, null when there were none.
 */
export function applySettlements(sql: SqlStorage, ledger: Ledger, settlements: Settlement[]): { ledger: Ledger; latest: number | null } {
  if (settlements.length === 0) return { ledger, latest: null }
  let latest: number | null = null
  const reservationIds = settlements.map((settlement) => settlement.reservation ?? settlement.id)
  const rows = reservationsById(sql, reservationIds)
  const settledIds: string[] = []
  const records: NewGeneration[] = []
  settlements.forEach((settlement, index) => {
    latest = Math.max(latest ?? settlement.now, settlement.now)
    const reservationId = reservationIds[index] ?? settlement.id
    const row = rows.get(reservationId)
    // Seen before (in an earlier call, or earlier in this one): nothing more to do.
    if (row?.state === 'settled') return
    if (row) {
      const reservation = { amountNano: row.amount_nano, tokens: row.tokens, createdAt: row.created_at, expired: row.state === 'expired', expiresAt: row.expires_at }
      ledger =
        settlement.record === null
          ? releaseLedger(ledger, reservation, settlement.now)
          : settleLedger(ledger, reservation, settlement.costNano, settlement.tokens, settlement.now)
      row.state = 'settled'
      settledIds.push(reservationId)
    }
    if (settlement.record !== null) records.push({ id: settlement.id, record: settlement.record })
  })
  markSettled(sql, settledIds)
  insertGenerations(sql, records)
  return { ledger, latest }
}

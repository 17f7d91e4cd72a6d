import { nanoToUsd } from '../catalog/pricing'
import { publicPolicy, type KeyRecord } from './keys'
import { remainingNano, rollPeriods, type Ledger } from './ledger'

/** A key's money in nano-USD, exact (the API's USD are JSON numbers, a nano-dollar off past $1M). */
export function keyMoney(record: KeyRecord, ledger: Ledger, now: number) {
  const current = rollPeriods(ledger, now)
  return {
    limit: record.policy.limitNano,
    remaining: remainingNano(current, record.policy),
    usage: current.totalNano,
    daily: current.periods.daily.usedNano,
    weekly: current.periods.weekly.usedNano,
    monthly: current.periods.monthly.usedNano,
    reserved: current.reservedNano,
  }
}
export type KeyMoney = ReturnType<typeof keyMoney>

/** A key as the API shows it (OpenRouter's Key object): record, policy and usage in USD. */
export function keyView(record: KeyRecord, ledger: Ledger, now: number) {
  const money = keyMoney(record, ledger, now)
  return {
    hash: record.hash,
    name: record.name,
    label: record.label,
    disabled: record.disabled,
    ...publicPolicy(record.policy),
    limit_remaining: money.remaining === null ? null : nanoToUsd(money.remaining),
    include_byok_in_limit: false,
    usage: nanoToUsd(money.usage),
    usage_daily: nanoToUsd(money.daily),
    usage_weekly: nanoToUsd(money.weekly),
    usage_monthly: nanoToUsd(money.monthly),
    /** Money held for requests still running (counted against limit_remaining). */
    reserved: nanoToUsd(money.reserved),
    requests_in_flight: ledger.inFlight,
    // OpenRouter's Key has these too; here there is no BYOK usage and one workspace.
    byok_usage: 0,
    byok_usage_daily: 0,
    byok_usage_weekly: 0,
    byok_usage_monthly: 0,
    created_at: record.created_at,
    updated_at: record.updated_at,
    expires_at: record.expires_at,
    creator_user_id: null,
    external_user: null,
    workspace_id: 'default',
  }
}
export type KeyView = ReturnType<typeof keyView>

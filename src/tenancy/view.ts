import { nanoToUsd } from '../catalog/pricing'
import { publicPolicy, type KeyRecord } from './keys'
import { remainingNano, rollPeriods, type Ledger } from './ledger'

/** A key as the API shows it (OpenRouter's Key object): record, policy and usage in USD. */
export function keyView(record: KeyRecord, ledger: Ledger, now: number) {
  const current = rollPeriods(ledger, now)
  const remaining = remainingNano(current, record.policy)
  return {
    hash: record.hash,
    name: record.name,
    label: record.label,
    disabled: record.disabled,
    ...publicPolicy(record.policy),
    limit_remaining: remaining === null ? null : nanoToUsd(remaining),
    include_byok_in_limit: false,
    usage: nanoToUsd(current.totalNano),
    usage_daily: nanoToUsd(current.periods.daily.usedNano),
    usage_weekly: nanoToUsd(current.periods.weekly.usedNano),
    usage_monthly: nanoToUsd(current.periods.monthly.usedNano),
    /** Money held for requests still running (counted against limit_remaining). */
    reserved: nanoToUsd(current.reservedNano),
    requests_in_flight: current.inFlight,
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

import type { KeyRecord } from '../../src/tenancy/keys'
import { OPEN_POLICY, type Policy } from '../../src/tenancy/policy'

/** A moment for pure tenancy tests (a Sunday noon, UTC). */
export const T0 = Date.parse('2026-11-22T12:00:00Z')

/** A key record with `policy` over the open one, for the pure admission and counting decisions. */
export function keyWith(policy: Partial<Policy>, fields: Partial<KeyRecord> = {}): KeyRecord {
  return {
    hash: 'a'.repeat(64),
    name: 'k',
    label: 'sk-mer-v1-aaa...aaa',
    disabled: false,
    created_at: new Date(T0).toISOString(),
    updated_at: null,
    expires_at: null,
    policy: { ...OPEN_POLICY, ...policy },
    ...fields,
  }
}

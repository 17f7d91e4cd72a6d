import { z } from 'zod'

/**
 * Tenant API keys. The plaintext key is shown once, at creation; afterwards only its SHA-256 hash
 * exists anywhere (it names the key's Durable Object and identifies it in the admin API).
 */

export const KEY_PREFIX = 'sk-mer-v1-'

export function generateKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return KEY_PREFIX + toHex(bytes)
}

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
}

export async function sha256Hex(text: string): Promise<string> {
  return toHex(await sha256(text))
}

function toHex(bytes: Uint8Array): string {
  let hex = ''
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0')
  return hex
}

/** What a key looks like in listings: enough to recognise it, too little to use it. */
export function keyLabel(key: string): string {
  return `${key.slice(0, KEY_PREFIX.length + 3)}...${key.slice(-3)}`
}

export const KeyHash = z.string().regex(/^[0-9a-f]{64}$/, 'must be a key hash (64 hex characters)')

const Timestamp = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time such as 2027-01-31T00:00:00Z' })

export const KeyRecordSchema = z.object({
  hash: KeyHash,
  name: z.string(),
  label: z.string(),
  disabled: z.boolean(),
  created_at: z.string(),
  updated_at: z.string().nullable(),
  expires_at: z.string().nullable(),
})
export type KeyRecord = z.infer<typeof KeyRecordSchema>

/** Strict: a field we do not enforce yet (such as `limit`) is refused, never silently ignored. */
export const CreateKeyInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  expires_at: Timestamp.nullish(),
})
export type CreateKeyInput = z.infer<typeof CreateKeyInput>

export const PatchKeyInput = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    disabled: z.boolean().optional(),
    expires_at: Timestamp.nullable().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one of name, disabled, expires_at')
export type PatchKeyInput = z.infer<typeof PatchKeyInput>

export function newKeyRecord(hash: string, label: string, input: CreateKeyInput, nowIso: string): KeyRecord {
  return {
    hash,
    name: input.name,
    label,
    disabled: false,
    created_at: nowIso,
    updated_at: null,
    expires_at: input.expires_at ? new Date(input.expires_at).toISOString() : null,
  }
}

export function patchKeyRecord(record: KeyRecord, patch: PatchKeyInput, nowIso: string): KeyRecord {
  return {
    ...record,
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}),
    ...(patch.expires_at !== undefined
      ? { expires_at: patch.expires_at === null ? null : new Date(patch.expires_at).toISOString() }
      : {}),
    updated_at: nowIso,
  }
}

export type KeyRefusal = { status: 401; message: string }

/** Why a key may not be used right now, or null when it may. Pure, so admission and tests agree. */
export function keyRefusal(record: KeyRecord, now: number): KeyRefusal | null {
  if (record.disabled) return { status: 401, message: 'API key is disabled' }
  if (record.expires_at !== null && Date.parse(record.expires_at) <= now) {
    return { status: 401, message: 'API key has expired' }
  }
  return null
}

/** The OpenRouter-shaped public view of a key (GET/POST/PATCH /keys). */
export function publicKey(record: KeyRecord) {
  return {
    hash: record.hash,
    name: record.name,
    label: record.label,
    disabled: record.disabled,
    limit: null,
    limit_reset: null,
    created_at: record.created_at,
    updated_at: record.updated_at,
    expires_at: record.expires_at,
  }
}

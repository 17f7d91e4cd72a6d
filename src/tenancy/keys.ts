import * as z from 'zod'
import { OPEN_POLICY, PolicyFields, usdToNano, type Policy } from './policy'

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

export function toHex(bytes: Uint8Array): string {
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

const PolicySchema = z.object({
  limitNano: z.number().int().nonnegative().nullable(),
  limitReset: z.enum(['daily', 'weekly', 'monthly']).nullable(),
  requestsPerMinute: z.number().int().positive().nullable(),
  tokensPerMinute: z.number().int().positive().nullable(),
  maxConcurrency: z.number().int().positive().nullable(),
  allowedModels: z.array(z.string()).nullable(),
  allowedProviders: z.array(z.string()).nullable(),
})

export const KeyRecordSchema = z.object({
  hash: KeyHash,
  name: z.string(),
  label: z.string(),
  disabled: z.boolean(),
  created_at: z.string(),
  updated_at: z.string().nullable(),
  expires_at: z.string().nullable(),
  // Records written before limits existed have none: they are open.
  policy: PolicySchema.default(OPEN_POLICY),
})
export type KeyRecord = z.infer<typeof KeyRecordSchema>

const Name = z.string().trim().min(1).max(200)

/** Strict: an unknown field is refused with a 400, never silently ignored. */
export const CreateKeyInput = z.strictObject({
  name: Name,
  expires_at: Timestamp.nullish(),
  limit: PolicyFields.limit.optional(),
  limit_reset: PolicyFields.limit_reset.optional(),
  rate_limit: PolicyFields.rate_limit.optional(),
  max_concurrency: PolicyFields.max_concurrency.optional(),
  allowed_models: PolicyFields.allowed_models.optional(),
  allowed_providers: PolicyFields.allowed_providers.optional(),
  // OpenRouter's clients may send it; with no BYOK usage here, only "not included" means anything.
  include_byok_in_limit: z.literal(false, { error: 'must be false: Meridian has no BYOK usage to include' }).nullish(),
  // Keys all live in one workspace and have no creating user: the values a key reports are taken, no others.
  workspace_id: z.literal('default', { error: 'must be "default": Meridian has one workspace' }).nullish(),
  creator_user_id: z.null({ error: 'must be null: Meridian keys have no creating user' }).optional(),
})
export type CreateKeyInput = z.infer<typeof CreateKeyInput>

export const PatchKeyInput = CreateKeyInput.partial()
  .extend({ disabled: z.boolean().optional(), expires_at: Timestamp.nullable().optional() })
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one field to change')
export type PatchKeyInput = z.infer<typeof PatchKeyInput>

type PolicyInput = Omit<PatchKeyInput, 'name' | 'disabled' | 'expires_at' | 'include_byok_in_limit' | 'workspace_id' | 'creator_user_id'>

/** Applies the API's policy fields (USD, snake_case) onto a stored policy (nano-USD). */
function applyPolicy(policy: Policy, input: PolicyInput): Policy {
  const next = { ...policy }
  if (input.limit !== undefined) next.limitNano = input.limit === null ? null : usdToNano(input.limit)
  if (input.limit_reset !== undefined) next.limitReset = input.limit_reset
  // `rate_limit: null` removes both limits; in an object, a limit left out is kept.
  const rates = input.rate_limit
  if (rates !== undefined) {
    next.requestsPerMinute = rates === null ? null : given(rates.requests_per_minute, next.requestsPerMinute)
    next.tokensPerMinute = rates === null ? null : given(rates.tokens_per_minute, next.tokensPerMinute)
  }
  if (input.max_concurrency !== undefined) next.maxConcurrency = input.max_concurrency
  if (input.allowed_models !== undefined) next.allowedModels = input.allowed_models
  if (input.allowed_providers !== undefined) next.allowedProviders = input.allowed_providers
  return next
}

/** A value the input gave (null included), else the current one. */
function given<T>(value: T | null | undefined, current: T | null): T | null {
  return value === undefined ? current : value
}

export function newKeyRecord(hash: string, label: string, input: CreateKeyInput, nowIso: string): KeyRecord {
  return {
    hash,
    name: input.name,
    label,
    disabled: false,
    created_at: nowIso,
    updated_at: null,
    expires_at: input.expires_at ? new Date(input.expires_at).toISOString() : null,
    policy: applyPolicy(OPEN_POLICY, input),
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
    policy: applyPolicy(record.policy, patch),
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

/** The policy as the API shows it: USD and OpenRouter's snake_case names. */
export function publicPolicy(policy: Policy) {
  return {
    limit: policy.limitNano === null ? null : policy.limitNano / 1e9,
    limit_reset: policy.limitReset,
    rate_limit:
      policy.requestsPerMinute === null && policy.tokensPerMinute === null
        ? null
        : { requests_per_minute: policy.requestsPerMinute, tokens_per_minute: policy.tokensPerMinute },
    max_concurrency: policy.maxConcurrency,
    allowed_models: policy.allowedModels,
    allowed_providers: policy.allowedProviders,
  }
}

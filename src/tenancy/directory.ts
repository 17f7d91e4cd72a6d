import type { Env } from '../env'
import { GatewayError } from '../errors'
import { generateKey, keyLabel, newKeyRecord, sha256Hex, type CreateKeyInput, type KeyRecord, type PatchKeyInput } from './keys'
import { deleteIndexEntry, followKey, INDEX_PREFIX, indexedKeys, type IndexedKey, writeIndexEntry } from './key-index'
import type { Ledger } from './ledger'

export interface KeyState {
  record: KeyRecord
  ledger: Ledger
}

/**
 * The admin side of keys: create, find, list, change, delete. The KeyDO holds each record; a KV
 * index (`keys/<hash>`) makes the set listable. KV listings are eventually consistent across
 * locations (about 60 s), so a key created elsewhere a moment ago may be missing from a listing
 * briefly; GET /keys/{hash}, admission and revocation never depend on the index.
 */

/** How many keys a page of either listing holds at most. */
export const KEYS_PER_PAGE = 100

export function keyObject(env: Env, hash: string) {
  return env.KEYS.get(env.KEYS.idFromName(hash))
}

export async function createKey(env: Env, input: CreateKeyInput, now: number): Promise<{ key: string; record: KeyRecord }> {
  // A key born expired is a mistake (a wrong year, a local time read as UTC); changing a key's expiry to the past is how one is retired.
  if (input.expires_at && Date.parse(input.expires_at) <= now) {
    const issue = { path: 'expires_at', message: `${input.expires_at} has already passed: a new key must expire later than now` }
    throw new GatewayError(400, 'invalid_request', `Invalid key: ${issue.path}: ${issue.message}`, { issues: [issue] })
  }
  const key = generateKey()
  const hash = await sha256Hex(key)
  const record = newKeyRecord(hash, keyLabel(key), input, new Date(now).toISOString())
  if (!(await keyObject(env, hash).create(record))) throw new Error('key hash collision')
  await writeIndexEntry(env, hash, record, true)
  return { key, record }
}

export async function readKey(env: Env, hash: string, now: number): Promise<KeyState | null> {
  return keyObject(env, hash).read(now)
}

async function recordOf(env: Env, hash: string, now: number): Promise<KeyRecord | null> {
  return (await readKey(env, hash, now))?.record ?? null
}

export async function updateKey(env: Env, hash: string, patch: PatchKeyInput, now: number): Promise<KeyState | null> {
  const state = await keyObject(env, hash).update(patch, now)
  if (state && patch.disabled !== undefined) await followKey(env, hash, state.record, () => recordOf(env, hash, now))
  return state
}

/**
 * Deletes the key (the object answers once the tickets it granted have lapsed), then its index
 * entry. An entry left behind (the call was cancelled in between) is skipped by listings.
 */
export async function deleteKey(env: Env, hash: string, now: number): Promise<boolean> {
  const existed = await keyObject(env, hash).remove(now)
  await deleteIndexEntry(env, hash)
  return existed
}

/**
 * OpenRouter's paging: the page after skipping `offset` keys of the listing, newest first across
 * the whole listing, as OpenRouter lists "the most recent 100 API keys" (a key made during a walk
 * shifts the later pages by one, as there); disabled keys count only when they are listed. Counted off the index, so
 * only the page's own keys are read; a page that finds its index behind (a key deleted but still
 * indexed, a key's state changed) puts the index right for the next.
 */
export async function listKeysAfter(
  env: Env,
  options: { offset: number; includeDisabled: boolean; now: number },
): Promise<{ keys: KeyState[]; more: boolean }> {
  const indexed = await indexedKeys(env, (hash) => recordOf(env, hash, options.now))
  const listed = options.includeDisabled ? indexed : await enabledKeys(env, indexed, options.now)
  const page = listed.slice(options.offset, options.offset + KEYS_PER_PAGE)
  const more = listed.length > options.offset + KEYS_PER_PAGE
  const states = await Promise.all(page.map((key) => readKey(env, key.hash, options.now)))
  await Promise.all(
    page.map(({ hash, disabled }, i) => {
      const state = states[i]
      if (!state) return deleteIndexEntry(env, hash)
      return state.record.disabled === disabled ? undefined : writeIndexEntry(env, hash, state.record)
    }),
  )
  // The key's own state decides: an index entry behind it (KV's minute) must not list a disabled key.
  return { keys: states.filter((state): state is KeyState => state !== null && (options.includeDisabled || !state.record.disabled)), more }
}

/** OpenRouter's `offset`: how many keys of the listing to skip (none when not given). */
export function listOffset(value: string | undefined): number {
  if (value === undefined || value === '') return 0
  if (!/^\d{1,9}$/.test(value)) throw new GatewayError(400, 'invalid_request', `offset: must be a whole number of keys to skip, not "${value.slice(0, 40)}"`)
  return Number(value)
}

/** The cursor an offset listing's page gives for the next (KV's own cursors never start so). */
export function offsetCursor(offset: number): string {
  return `offset:${offset}`
}

/** The offset a cursor from offsetCursor names; undefined for any other cursor (KV's). */
export function offsetOfCursor(cursor: string): number | undefined {
  const match = /^offset:(\d{1,9})$/.exec(cursor)
  return match ? Number(match[1]) : undefined
}

/** The most index entries saying disabled that one offset listing reads from their keys (each is a call). */
const MAX_DISABLED_READS = 100

/**
 * The indexed keys that are enabled. An entry that says disabled is read from its key, which
 * decides (re-enabled within KV's minute elsewhere, or by a PATCH cut short before its index
 * write), and put right: the newest MAX_DISABLED_READS such entries, so a listing's calls stay
 * bounded however many keys were retired; the index is trusted for older ones.
 */
async function enabledKeys(env: Env, indexed: IndexedKey[], now: number): Promise<IndexedKey[]> {
  const checked = new Set(indexed.filter((key) => key.disabled).slice(0, MAX_DISABLED_READS))
  const enabled = await Promise.all(
    indexed.map(async (key) => {
      if (!key.disabled) return key
      if (!checked.has(key)) return null
      const record = await recordOf(env, key.hash, now)
      if (!record || record.disabled) return null
      await writeIndexEntry(env, key.hash, record)
      return { ...key, disabled: false }
    }),
  )
  return enabled.filter((key): key is IndexedKey => key !== null)
}

/** One page of keys, oldest first; `cursor` continues a listing. */
export async function listKeys(
  env: Env,
  options: { cursor?: string; includeDisabled: boolean; now: number },
): Promise<{ keys: KeyState[]; cursor: string | null }> {
  const page = await env.KV.list({ prefix: INDEX_PREFIX, limit: KEYS_PER_PAGE, ...(options.cursor ? { cursor: options.cursor } : {}) }).catch((error: unknown) => {
    // KV refuses a cursor it did not issue, naming it (the local simulator lists nothing instead).
    if (options.cursor && error instanceof Error && /cursor/i.test(error.message)) {
      throw new GatewayError(400, 'invalid_request', 'cursor: not a cursor from a previous page of this listing')
    }
    throw error
  })
  const states = await Promise.all(page.keys.map((entry) => readKey(env, entry.name.slice(INDEX_PREFIX.length), options.now)))
  const present = states.filter((state): state is KeyState => state !== null)
  return {
    keys: present
      .filter((state) => options.includeDisabled || !state.record.disabled)
      .sort((a, b) => a.record.created_at.localeCompare(b.record.created_at)),
    cursor: page.list_complete ? null : page.cursor,
  }
}

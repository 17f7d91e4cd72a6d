import type { Env } from '../env'
import { GatewayError } from '../errors'
import { generateKey, keyLabel, newKeyRecord, sha256Hex, type CreateKeyInput, type KeyRecord, type PatchKeyInput } from './keys'
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

const INDEX_PREFIX = 'keys/'
const LIST_PAGE = 100
/** The most index entries one KV listing call returns. */
const INDEX_PAGE = 1000

/** What an index entry carries, so an offset listing can skip disabled keys without reading them. */
interface IndexEntry {
  disabled: boolean
}

function indexEntry(hash: string, record: Pick<KeyRecord, 'disabled'>): [string, string, { metadata: IndexEntry }] {
  return [INDEX_PREFIX + hash, '', { metadata: { disabled: record.disabled } }]
}

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
  await env.KV.put(...indexEntry(hash, record))
  return { key, record }
}

export async function readKey(env: Env, hash: string, now: number): Promise<KeyState | null> {
  return keyObject(env, hash).read(now)
}

export async function updateKey(env: Env, hash: string, patch: PatchKeyInput, now: number): Promise<KeyState | null> {
  const state = await keyObject(env, hash).update(patch, now)
  if (state && patch.disabled !== undefined) await env.KV.put(...indexEntry(hash, state.record))
  return state
}

/**
 * Deletes the key (the object answers once the tickets it granted have lapsed), then its index
 * entry. An entry left behind (the call was cancelled in between) is skipped by listings.
 */
export async function deleteKey(env: Env, hash: string, now: number): Promise<boolean> {
  const existed = await keyObject(env, hash).remove(now)
  await env.KV.delete(INDEX_PREFIX + hash)
  return existed
}

/**
 * One page of keys, oldest first, after skipping `offset` of them (OpenRouter's paging: disabled
 * keys count only when they are listed). The skipped ones are counted from the index; only a key
 * indexed before the index carried its state is read from its object to tell.
 */
export async function listKeysAfter(
  env: Env,
  options: { offset: number; includeDisabled: boolean; now: number },
): Promise<KeyState[]> {
  const hashes: string[] = []
  let skip = options.offset
  let cursor: string | undefined
  for (;;) {
    const page = await env.KV.list<IndexEntry>({ prefix: INDEX_PREFIX, limit: INDEX_PAGE, ...(cursor ? { cursor } : {}) })
    for (const entry of page.keys) {
      const hash = entry.name.slice(INDEX_PREFIX.length)
      if (!options.includeDisabled && (await indexedAsDisabled(env, hash, entry.metadata, options.now))) continue
      if (skip > 0) skip--
      else hashes.push(hash)
      if (hashes.length === LIST_PAGE) break
    }
    if (hashes.length === LIST_PAGE || page.list_complete) break
    cursor = page.cursor
  }
  const states = await Promise.all(hashes.map((hash) => readKey(env, hash, options.now)))
  return listed(states, options.includeDisabled)
}

/** Whether the index has the key disabled; a key gone from its object is as good as disabled. */
async function indexedAsDisabled(env: Env, hash: string, metadata: IndexEntry | undefined, now: number): Promise<boolean> {
  if (typeof metadata?.disabled === 'boolean') return metadata.disabled
  const state = await readKey(env, hash, now)
  return !state || state.record.disabled
}

/** The keys a listing shows, oldest first: a key deleted meanwhile is left out, a disabled one unless asked. */
function listed(states: (KeyState | null)[], includeDisabled: boolean): KeyState[] {
  return states
    .filter((state): state is KeyState => state !== null && (includeDisabled || !state.record.disabled))
    .sort((a, b) => a.record.created_at.localeCompare(b.record.created_at))
}

/** One page of keys, oldest first; `cursor` continues a listing. */
export async function listKeys(
  env: Env,
  options: { cursor?: string; includeDisabled: boolean; now: number },
): Promise<{ keys: KeyState[]; cursor: string | null }> {
  const page = await env.KV.list({ prefix: INDEX_PREFIX, limit: LIST_PAGE, ...(options.cursor ? { cursor: options.cursor } : {}) }).catch((error: unknown) => {
    // KV refuses a cursor it did not issue, naming it (the local simulator lists nothing instead).
    if (options.cursor && error instanceof Error && /cursor/i.test(error.message)) {
      throw new GatewayError(400, 'invalid_request', 'cursor: not a cursor from a previous page of this listing')
    }
    throw error
  })
  const states = await Promise.all(page.keys.map((entry) => readKey(env, entry.name.slice(INDEX_PREFIX.length), options.now)))
  return { keys: listed(states, options.includeDisabled), cursor: page.list_complete ? null : page.cursor }
}

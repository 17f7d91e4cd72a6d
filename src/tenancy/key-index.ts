import type { Env } from '../env'
import { writeWithRetry } from '../kv-write'
import type { KeyRecord } from './keys'

/**
 * The KV index of keys (`keys/<hash>`), which makes the set listable. Each entry carries what an
 * offset listing orders and counts by (the key's creation and whether it is disabled), so that
 * skipping keys reads no object. The KeyDO stays the authority: the index follows it.
 */

export const INDEX_PREFIX = 'keys/'
/** The most index entries one KV listing call returns. */
const INDEX_PAGE = 1000

interface IndexMetadata {
  disabled: boolean
  created_at: string
}

export interface IndexedKey {
  hash: string
  disabled: boolean
  createdAt: string
}

type Indexed = Pick<KeyRecord, 'disabled' | 'created_at'>

/**
 * Writes a key's entry. `required`, for a new key: one refused twice throws, since no listing can
 * find (and repair) a key without an entry, and a key the operator cannot list must not be handed out.
 */
export async function writeIndexEntry(env: Env, hash: string, record: Indexed, required = false): Promise<void> {
  const metadata: IndexMetadata = { disabled: record.disabled, created_at: record.created_at }
  await indexWrite(() => env.KV.put(INDEX_PREFIX + hash, '', { metadata }), required)
}

export async function deleteIndexEntry(env: Env, hash: string): Promise<void> {
  await indexWrite(() => env.KV.delete(INDEX_PREFIX + hash))
}

/**
 * An index write (tried twice: ../kv-write). One still refused is logged, not thrown, unless
 * `required`: the key's object has the change, and a listing repairs an entry behind it.
 */
async function indexWrite(write: () => Promise<void>, required = false): Promise<void> {
  await writeWithRetry(write).catch((error: unknown) => {
    if (required) throw error
    console.error('key index write failed; a listing repairs it', error instanceof Error ? error.message : String(error))
  })
}

/**
 * Writes the key's entry, then reads the key again and writes once more if it changed meanwhile:
 * of two crossing changes, the one whose write lands last may carry the older state.
 */
export async function followKey(env: Env, hash: string, record: Indexed, read: () => Promise<Indexed | null>): Promise<void> {
  let written = record
  for (let round = 0; round < 3; round++) {
    await writeIndexEntry(env, hash, written)
    const latest = await read()
    if (!latest || latest.disabled === written.disabled) return
    written = latest
  }
}

/**
 * Every indexed key, newest first (then by hash), as OpenRouter lists keys: a key just made is on
 * the first page. An entry written before entries carried their
 * key's state is read from its object once and rewritten; one whose object is gone is dropped.
 */
export async function indexedKeys(env: Env, read: (hash: string) => Promise<Indexed | null>): Promise<IndexedKey[]> {
  const keys: IndexedKey[] = []
  let cursor: string | undefined
  for (;;) {
    const page = await env.KV.list<Partial<IndexMetadata>>({ prefix: INDEX_PREFIX, limit: INDEX_PAGE, ...(cursor ? { cursor } : {}) })
    for (const entry of page.keys) {
      const hash = entry.name.slice(INDEX_PREFIX.length)
      const { disabled, created_at: createdAt } = entry.metadata ?? {}
      if (typeof disabled === 'boolean' && typeof createdAt === 'string') {
        keys.push({ hash, disabled, createdAt })
        continue
      }
      const record = await read(hash)
      if (!record) {
        await deleteIndexEntry(env, hash)
        continue
      }
      await writeIndexEntry(env, hash, record)
      keys.push({ hash, disabled: record.disabled, createdAt: record.created_at })
    }
    if (page.list_complete) break
    cursor = page.cursor
  }
  return keys.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.hash.localeCompare(b.hash))
}

import { parsedJson } from '../json'
import { configOf } from '../config'
import type { Env } from '../env'
import { GatewayError, invalidInput } from '../errors'
import { kvMemo } from '../kv-memo'
import { storeDocument } from '../kv-write'
import { PresetsDocument } from './presets'

/**
 * The one way to read presets: one document in KV, memoised per isolate like the catalog and
 * refreshed in the background every CATALOG_REFRESH_MS. Only requests that name a preset read it,
 * so a request that names none awaits nothing more.
 */

export const PRESETS_KV_KEY = 'presets/v1'

/** Validates a presets document; a bad one is a 400 naming the field, and changes nothing. */
export function validatePresets(input: unknown): PresetsDocument {
  const parsed = PresetsDocument.safeParse(input)
  if (!parsed.success) throw invalidInput('presets', parsed.error.issues)
  return parsed.data
}

/** The stored document: `{}` when none is stored, null when what is stored fails validation. */
async function readStored(env: Env): Promise<PresetsDocument | null> {
  let stored: string | null
  try {
    stored = await env.KV.get(PRESETS_KV_KEY)
  } catch (error) {
    // As the catalog's: a refresh that fails keeps what the isolate has (kvMemo backs off), and a
    // first read, with nothing yet, is a 503 to retry rather than an internal error.
    console.error('presets could not be read', error instanceof Error ? error.message : String(error))
    throw new GatewayError(503, 'server', 'Presets could not be read from storage; retry shortly', {}, { 'retry-after': '1' })
  }
  if (stored === null) return {}
  // Text that is not JSON (written by hand, cut short) fails as a document that fails validation does.
  const parsed = PresetsDocument.safeParse(parsedJson(stored))
  return parsed.success ? parsed.data : null
}

async function loadFromKv(env: Env): Promise<PresetsDocument> {
  const stored = await readStored(env)
  if (stored) return stored
  // Only the admin routes write the key, and they validate: a bad value was written by hand.
  console.error('presets in KV failed validation; serving none')
  return {}
}

const memo = kvMemo(loadFromKv, (env) => configOf(env).CATALOG_REFRESH_MS)

export function currentPresets(env: Env, waitUntil: (promise: Promise<unknown>) => void, now: number): Promise<PresetsDocument> {
  return memo.read(env, waitUntil, now)
}

/** Stores a validated document and serves it from this isolate at once (others within the refresh interval). */
export async function storePresets(env: Env, document: PresetsDocument, now: number): Promise<void> {
  await storeDocument(env.KV, PRESETS_KV_KEY, JSON.stringify(document), 'presets document')
  memo.set(env, document, now)
}

/**
 * Sets (a preset) or removes (null) one preset: a read of the stored document, not the memo, then
 * a write of the whole. Two operators changing presets at the same moment may lose one change, as
 * with two catalog PUTs.
 */
export async function storePreset(env: Env, slug: string, preset: PresetsDocument[string] | null, now: number): Promise<PresetsDocument> {
  const stored = await readStored(env)
  // Read as empty, a bad document would lose every other preset with this write.
  if (!stored) throw new GatewayError(500, 'server', 'The stored presets fail validation: replace them whole with PUT /v1/admin/presets')
  const { [slug]: _old, ...others } = stored
  const document = preset ? { ...others, [slug]: preset } : others
  await storePresets(env, document, now)
  return document
}

import { configOf } from '../config'
import { kvMemo } from '../kv-memo'
import { storeDocument } from '../kv-write'
import type { Env } from '../env'
import { GatewayError, invalidInput } from '../errors'
import { parsedJson } from '../json'
import bundledDefault from './default.json'
import { salvageCatalog } from './salvage'
import { CatalogSchema, type CatalogDocument } from './schema'
import { compileCatalog, type CatalogSnapshot } from './snapshot'

/**
 * The one way to read the catalog. The document lives in KV under one key; each isolate memoises
 * the compiled snapshot and refreshes it in the background once it is older than
 * CATALOG_REFRESH_MS, so the hot path awaits KV only on an isolate's very first request.
 */

export const CATALOG_KV_KEY = 'catalog/v1'

let bundled: CatalogSnapshot | undefined

function bundledSnapshot(): CatalogSnapshot {
  bundled ??= compileCatalog(CatalogSchema.parse(bundledDefault))
  return bundled
}

/** Validates a catalog document; a bad one is a 400 naming the field, and changes nothing. */
export function validateCatalog(input: unknown): CatalogDocument {
  const parsed = CatalogSchema.safeParse(input)
  if (!parsed.success) throw invalidInput('catalog', parsed.error.issues)
  return parsed.data
}

/**
 * The last document read and its snapshot, which depends on the text alone: the usual refresh
 * finds the catalog unchanged and need not parse, validate and compile it again (a catalog of
 * thousands of models costs a few hundred ms of CPU to compile).
 */
let lastRead: { text: string; snapshot: CatalogSnapshot } | undefined

/**
 * A read that fails throws: a background refresh keeps the catalog it has (kvMemo backs off), and
 * an isolate's first request, with none yet, is a 503 to retry rather than an internal error.
 */
export async function loadFromKv(env: Env): Promise<CatalogSnapshot> {
  let stored: string | null
  try {
    stored = await env.KV.get(CATALOG_KV_KEY)
  } catch (error) {
    console.error('catalog could not be read', error instanceof Error ? error.message : String(error))
    throw new GatewayError(503, 'server', 'The model catalog could not be read from storage; retry shortly', {}, { 'retry-after': '1' })
  }
  if (stored === null) return bundledSnapshot()
  if (lastRead?.text === stored) return lastRead.snapshot
  const snapshot = storedSnapshot(parsedJson(stored))
  lastRead = { text: stored, snapshot }
  return snapshot
}

/**
 * The snapshot of the document stored in KV (null: none is). Only PUT /admin/catalog and the sync
 * write it, and they validate; so one that fails was written under an older release's looser
 * rules, or by hand. What still validates of it is served (./salvage), the rest logged; only a
 * document with nothing servable left gives way to the bundled default, which beats failing every
 * request.
 */
export function storedSnapshot(stored: unknown): CatalogSnapshot {
  if (stored === null) return bundledSnapshot()
  const parsed = CatalogSchema.safeParse(stored)
  if (parsed.success) return compileCatalog(parsed.data)
  const salvaged = salvageCatalog(stored)
  if (!salvaged) {
    console.error('catalog in KV failed validation with nothing servable left; serving the bundled default')
    return bundledSnapshot()
  }
  console.error(`catalog in KV failed validation; serving it without what failed (PUT /v1/admin/catalog to correct it): ${salvaged.dropped.join('; ')}`)
  return compileCatalog(salvaged.document)
}

const memo = kvMemo(loadFromKv, (env) => configOf(env).CATALOG_REFRESH_MS)

export function currentCatalog(env: Env, waitUntil: (promise: Promise<unknown>) => void, now: number): Promise<CatalogSnapshot> {
  return memo.read(env, waitUntil, now)
}

/** Stores a validated document and serves it from this isolate at once (others within the refresh interval). */
export async function storeCatalog(env: Env, document: CatalogDocument, now: number): Promise<CatalogSnapshot> {
  await storeDocument(env.KV, CATALOG_KV_KEY, JSON.stringify(document), 'catalog')
  const snapshot = compileCatalog(document)
  memo.set(env, snapshot, now)
  return snapshot
}

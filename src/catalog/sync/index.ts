import * as z from 'zod'
import { readBoundedText } from '../../bounded-body'
import type { Env } from '../../env'
import { GatewayError } from '../../errors'
import { storeDocument } from '../../kv-write'
import { loadFromKv, storeCatalog } from '../store'
import type { ImportResult, Skip } from './imported'
import { mergeCatalog, type ProviderReport } from './merge'
import { importModelsDev } from './models-dev'
import { importOpenRouter } from './openrouter'
import { DEFAULT_SOURCE_URLS, SyncOptionsSchema, selectedProviders, type SyncOptions } from './options'

/**
 * Catalog sync: fetch a public catalog document, import it, merge it into the operator's catalog
 * and store the result. Run by `POST /v1/admin/catalog/sync` and, for stored options, by cron.
 *
 * @example
 * await syncCatalog(env, { source: 'models.dev', providers: { groq: {} } }, Date.now())
 */

export { SyncOptionsSchema, type SyncOptions } from './options'

export const SYNC_OPTIONS_KV_KEY = 'catalog/sync-options'
/** Cron runs a stored sync at most once per this period (the first tick of each hour), whatever
 *  the cron schedule: a sync fetches a large document and writes KV. */
export const SCHEDULED_SYNC_PERIOD_MS = 60 * 60_000
const FETCH_TIMEOUT_MS = 30_000
/** The largest source document read: public catalogs are a few MB, and the parsed document must fit in the isolate's memory. */
export const MAX_SOURCE_BYTES = 16 * 1024 * 1024

export interface SyncReport {
  source: SyncOptions['source']
  /** The URL fetched, or null for an inline document. */
  url: string | null
  models_imported: number
  endpoints_imported: number
  skipped: Skip[]
  providers: ProviderReport[]
  /** False when the merged catalog equals the one in force (nothing was written). */
  changed: boolean
}

export async function syncCatalog(env: Env, options: SyncOptions, now: number, fetcher: typeof fetch = fetch): Promise<SyncReport> {
  const url = options.document === undefined ? (options.url ?? DEFAULT_SOURCE_URLS[options.source]) : null
  const document = url === null ? options.document : await fetchSource(url, fetcher)
  const imported = importDocument(options, document)
  // What KV holds, not this isolate's memo: another isolate may have stored a PUT since it was read.
  const current = (await loadFromKv(env)).document
  const optionsById = Object.fromEntries(selectedProviders(options).map(({ source, id }) => [id, options.providers?.[source] ?? {}]))
  const merged = mergeCatalog(current, imported, optionsById)
  const changed = JSON.stringify(merged.document) !== JSON.stringify(current)
  if (changed) await storeCatalog(env, merged.document, now)
  return {
    source: options.source,
    url,
    models_imported: merged.modelsImported,
    endpoints_imported: merged.endpointsImported,
    skipped: [...imported.skipped, ...merged.skipped],
    providers: merged.providers,
    changed,
  }
}

function importDocument(options: SyncOptions, document: unknown): ImportResult {
  const providers = selectedProviders(options)
  if (options.source === 'openrouter') {
    return importOpenRouter(document, { provider: providers[0]?.id ?? 'openrouter', aliases: options.aliases })
  }
  return importModelsDev(document, { providers, aliases: options.aliases })
}

/**
 * 502 when the source cannot be reached, answers an error or more than MAX_SOURCE_BYTES; 400 when it
 * answers something other than JSON.
 */
async function fetchSource(url: string, fetcher: typeof fetch): Promise<unknown> {
  let response: Response
  try {
    response = await fetcher(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new GatewayError(502, 'provider_unavailable', `Could not fetch the catalog source ${url}: ${reason}`, { url })
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new GatewayError(502, 'provider_unavailable', `The catalog source ${url} answered ${response.status}`, { url, status: response.status })
  }
  let text: string | null
  try {
    text = await readBoundedText(response, MAX_SOURCE_BYTES)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new GatewayError(502, 'provider_unavailable', `Could not read the catalog source ${url}: ${reason}`, { url })
  }
  if (text === null) {
    throw new GatewayError(502, 'provider_unavailable', `The catalog source ${url} answered more than ${MAX_SOURCE_BYTES} bytes`, { url })
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new GatewayError(400, 'invalid_request', `Invalid source document: ${url} did not return JSON`, { url })
  }
}

const StoredSync = z.object({ options: SyncOptionsSchema, lastRunAt: z.number() })
export type StoredSync = z.infer<typeof StoredSync>

/** Stores options for cron (an inline document and the schedule flag are not kept). */
export async function scheduleSync(env: Env, options: SyncOptions, now: number): Promise<void> {
  const { document: _document, schedule: _schedule, ...kept } = options
  await storeDocument(env.KV, SYNC_OPTIONS_KV_KEY, JSON.stringify({ options: kept, lastRunAt: now } satisfies StoredSync), 'sync schedule')
}

export async function scheduledSync(env: Env): Promise<StoredSync | null> {
  const stored = await env.KV.get<unknown>(SYNC_OPTIONS_KV_KEY, 'json')
  if (stored === null) return null
  const parsed = StoredSync.safeParse(stored)
  if (parsed.success) return parsed.data
  console.error('stored catalog sync options failed validation; ignoring them')
  return null
}

export async function unscheduleSync(env: Env): Promise<void> {
  await env.KV.delete(SYNC_OPTIONS_KV_KEY)
}

/**
 * The cron side: repeats the stored sync once per SCHEDULED_SYNC_PERIOD_MS, and does nothing when
 * no options are stored or this period's run has happened. Failures throw (cron logs them).
 */
export async function runScheduledSync(env: Env, now: number, fetcher: typeof fetch = fetch): Promise<SyncReport | null> {
  const stored = await scheduledSync(env)
  if (!stored || Math.floor(now / SCHEDULED_SYNC_PERIOD_MS) <= Math.floor(stored.lastRunAt / SCHEDULED_SYNC_PERIOD_MS)) return null
  // Recorded before the attempt: a failing source is retried next period, not on every cron tick.
  await storeDocument(env.KV, SYNC_OPTIONS_KV_KEY, JSON.stringify({ ...stored, lastRunAt: now } satisfies StoredSync), 'sync schedule')
  return syncCatalog(env, stored.options, now, fetcher)
}

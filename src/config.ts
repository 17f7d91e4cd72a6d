import { z } from 'zod'
import type { Env } from './env'

/**
 * Operational settings, read from Worker variables (strings) with defaults. Every threshold the
 * gateway uses lives here so operators can see and change it in one place (README "Configuration").
 */
/** A positive integer setting; an unset or malformed value falls back to its default rather than
 *  taking the gateway down. */
const setting = (fallback: number) => z.coerce.number().int().positive().catch(fallback)

const ConfigSchema = z.object({
  /** Largest request body accepted, in bytes (413 above it). */
  MAX_BODY_BYTES: setting(8 * 1024 * 1024),
  /** Streaming: time allowed until the upstream's first event. */
  TIMEOUT_FIRST_BYTE_MS: setting(60_000),
  /** Streaming: longest silence allowed between two upstream events. No total timeout exists,
   *  so a healthy long stream is never cut. */
  TIMEOUT_IDLE_MS: setting(60_000),
  /** Non-streaming: time allowed for the whole upstream response (reasoning models are slow). */
  TIMEOUT_NON_STREAMING_MS: setting(600_000),
  /** Streaming: how long to hold the response (so a failure can still be a real HTTP status)
   *  before committing to 200 and sending keep-alive comments; also the keep-alive interval. */
  STREAM_KEEPALIVE_MS: setting(2_000),
  /** How long an isolate serves its memoised catalog before refreshing it from KV in the background. */
  CATALOG_REFRESH_MS: setting(30_000),
  /** Upper bound on upstream attempts for one request (the endpoints tried in order). */
  MAX_ATTEMPTS: setting(4),
  /** An admission's reservation is charged in full if its settlement has not arrived by then
   *  (a late settlement still corrects it). Longer than any request should run. */
  RESERVATION_TTL_MS: setting(15 * 60_000),
  /** Generation records older than this are pruned. */
  GENERATION_RETENTION_DAYS: setting(30),
  /** At most this many generation records are kept per key (the newest). */
  GENERATION_MAX_RECORDS: setting(10_000),
})

export type Config = z.infer<typeof ConfigSchema>

const cache = new WeakMap<object, Config>()

export function configOf(env: Env): Config {
  let config = cache.get(env)
  if (!config) {
    config = ConfigSchema.parse(env)
    cache.set(env, config)
  }
  return config
}

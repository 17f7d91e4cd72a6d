import * as z from 'zod'
import { betaNames, DEFAULT_ANTHROPIC_BETAS } from './formats/anthropic/betas'

/**
 * Operational settings, read from Worker variables (strings) with defaults. Every threshold the
 * gateway uses lives here so operators can see and change it in one place (README "Configuration").
 */
/**
 * A whole number from a variable's text. A blank one (`NAME=` in .dev.vars, an empty dashboard
 * variable) is no number: read as 0 it would turn off the settings where 0 means off.
 */
const whole = <T extends z.ZodType>(rule: T) => z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : value), rule)
/** A positive integer setting; an unset or malformed value falls back to its default rather than
 *  taking the gateway down. */
const setting = (fallback: number) => whole(z.coerce.number().int().positive()).catch(fallback)
const settingOrZero = (fallback: number) => whole(z.coerce.number().int().nonnegative()).catch(fallback)
/** A percentage: 1 to 100. */
const percent = (fallback: number) => whole(z.coerce.number().int().positive().max(100)).catch(fallback)
/** A lease stays far below RESERVATION_TTL_MS (a ticket must not expire while it can be taken), and admin calls wait one out. */
const MAX_LEASE_MS = 5_000
/** Background waits (settlement lingers, the health flush) run inside a request's waitUntil, which the runtime stops after 30 s. */
const MAX_BACKGROUND_WAIT_MS = 5_000
/** A background wait: positive, at most MAX_BACKGROUND_WAIT_MS. */
const backgroundWait = (fallback: number) => whole(z.coerce.number().int().positive().max(MAX_BACKGROUND_WAIT_MS)).catch(fallback)

/** The value a JSON text holds; null when it is not JSON (which the rule then refuses). */
function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

const ConfigSchema = z.object({
  /** Largest request body accepted, in bytes (413 above it). */
  MAX_BODY_BYTES: setting(8 * 1024 * 1024),
  /** Largest non-streaming upstream answer read, in bytes: a larger one counts as a bad response
   *  (the next endpoint is tried), so a runaway upstream cannot fill the isolate's 128 MB. */
  MAX_UPSTREAM_BODY_BYTES: setting(32 * 1024 * 1024),
  /** Streaming: time allowed until the upstream's first event. */
  TIMEOUT_FIRST_BYTE_MS: setting(60_000),
  /** Streaming, at an OpenAI- or Gemini-format endpoint that reasons (its supportedParameters list
   *  `reasoning`), unless what is sent turns thinking off, and at Bedrock when Claude is sent
   *  thinking (Converse opens no block for it): time allowed until the upstream's first
   *  event (providers/adapter.ts thinksFirst). Their reasoning models send nothing until they have
   *  thought, which may take minutes; cut sooner, the thinking would be paid for and lost. */
  TIMEOUT_FIRST_BYTE_REASONING_MS: setting(600_000),
  /** Streaming: longest silence allowed between two upstream events. No total timeout exists,
   *  so a healthy long stream is never cut. */
  TIMEOUT_IDLE_MS: setting(60_000),
  /** Non-streaming: time allowed for the whole upstream response (reasoning models are slow). */
  TIMEOUT_NON_STREAMING_MS: setting(600_000),
  /** A token count (POST /messages/count_tokens): time allowed for each provider's answer. A count
   *  is quick or not coming, and the client counts locally on an error; no attempt starts after
   *  twice this. */
  TIMEOUT_COUNT_TOKENS_MS: setting(10_000),
  /** Streaming: how long to hold the response (so a failure can still be a real HTTP status)
   *  before committing to 200 and sending keep-alive comments; also the keep-alive interval. */
  STREAM_KEEPALIVE_MS: setting(2_000),
  /** How long an isolate serves its memoised catalog before refreshing it from KV in the background. */
  CATALOG_REFRESH_MS: setting(30_000),
  /**
   * Anthropic betas a client may ask for (`anthropic-beta` or `x-anthropic-beta`) that are sent on
   * to Anthropic-format providers, comma-separated; the others are dropped. Empty forwards none.
   */
  ANTHROPIC_BETAS: z
    // A JSON list too: an array in `[vars]`, or its text in .dev.vars or a dashboard variable.
    .preprocess((value) => (typeof value === 'string' && value.trim().startsWith('[') ? jsonOf(value) : value), z.union([z.string(), z.array(z.string()).transform((names) => names.join(','))]))
    .transform((list): readonly string[] => betaNames(list))
    .catch(DEFAULT_ANTHROPIC_BETAS),
  /** Upper bound on upstream attempts for one request (the endpoints tried in order). */
  MAX_ATTEMPTS: setting(4),
  /** No new upstream attempt starts this long after the request arrived. */
  ATTEMPT_DEADLINE_MS: setting(120_000),
  /** Endpoints whose score is within this many ms of the best are treated as equals and share
   *  load (weighted random); 0 turns spreading off. */
  ROUTING_TIE_BAND_MS: settingOrZero(10),
  /** `nearest-healthy` (the default), or a baseline for comparison: `ordered` (catalog order, no
   *  health or geography: static fallback as most gateways do it) or `random` (uniform). Filters
   *  and explicit preferences apply in every mode. */
  ROUTING_MODE: z.enum(['nearest-healthy', 'ordered', 'random']).catch('nearest-healthy'),
  /** An admission's reservation is charged in full if its settlement has not arrived by then
   *  (a late settlement still corrects it). A request still running renews its own every third
   *  of this (gateway/renewal.ts), so only an abandoned one expires. */
  RESERVATION_TTL_MS: setting(15 * 60_000),
  /** A finished request's settlement waits this long for the key's next admission to carry it
   *  before it is sent on its own (gateway/outbox.ts); its reservation holds until then. */
  SETTLE_LINGER_MS: backgroundWait(25),
  /** The same while this isolate holds tickets of the key (see LEASE_MS): its requests mostly take
   *  tickets, so few admissions come to carry settlements, and a longer wait sends them in fewer,
   *  larger calls. A key gets tickets only with ample room under its limits. 250 rather than
   *  100 ms: a quarter less written to the key object's storage per request at 300 req/s (6.2
   *  against 8.3 KB under Miniflare, from /proc/<pid>/io of its workerd), since each commit
   *  rewrites the same hot pages. */
  SETTLE_LINGER_BUSY_MS: backgroundWait(250),
  /**
   * Admission leases (docs/quotas.md): how long a ticket, an admission decided ahead for a busy
   * key, stays valid in the isolate it was granted to. A change to the key waits this long (at
   * most) before it answers, so that it still bites on the next request. 0 turns leasing off.
   */
  LEASE_MS: whole(z.coerce.number().int().min(0).max(MAX_LEASE_MS)).catch(1_000),
  /**
   * Most tickets an isolate asks for at once (it asks for about a lease's worth of its traffic).
   * 64 rather than 16 cut the gateway's CPU per request at saturation by a fifth (fewer object
   * calls); 256 measured no better (`npm run bench:profile -- --v8 no`, alternated runs).
   */
  LEASE_MAX_TICKETS: whole(z.coerce.number().int().min(0).max(256)).catch(64),
  /** Generation records older than this are pruned. */
  GENERATION_RETENTION_DAYS: setting(30),
  /** At most this many generation records are kept per key (the newest). */
  GENERATION_MAX_RECORDS: setting(10_000),
  /**
   * Responses API responses created with `store` on (OpenAI's default) are kept this long, for
   * `previous_response_id`, `item_reference` and GET /responses/{id}; 0 stores none (and deletes
   * what is stored at the key object's next sweep).
   */
  RESPONSES_RETENTION_DAYS: settingOrZero(30),
  /** At most this many stored responses are kept per key (the newest)… */
  RESPONSES_MAX_STORED: setting(10_000),
  /** …taking at most this many bytes of its storage (the newest first); a response larger than this is not kept. */
  RESPONSES_MAX_BYTES: setting(1024 * 1024 * 1024),

  // Health and circuit breaking (docs/health.md)
  /** The recent window over which error rates are judged (split into 10 s buckets). */
  HEALTH_WINDOW_MS: setting(60_000),
  /** A circuit opens only after this many attempts in the window… */
  CIRCUIT_MIN_SAMPLES: setting(5),
  /** …when at least this percentage of them failed (5xx, timeouts, connection errors, garbage). */
  CIRCUIT_ERROR_RATE_PCT: percent(50),
  /** Or at once after this many failures in a row. */
  CIRCUIT_CONSECUTIVE_FAILURES: setting(3),
  /** How long an open circuit stays open before one half-open probe is let through. */
  CIRCUIT_OPEN_MS: setting(20_000),
  /** How long a 429 without Retry-After cools an endpoint. */
  COOLDOWN_DEFAULT_MS: setting(30_000),
  /**
   * Weight (percent) of the newest sample in the smoothed latency and throughput, at least: a sample
   * after a quiet spell weighs more (see HEALTH_STALE_MS).
   */
  HEALTH_EWMA_WEIGHT_PCT: percent(20),
  /**
   * An endpoint unobserved for this long has a stale latency figure: routing assumes it as fast as
   * the best fresh one and sends it one request (at a time, per isolate) to renew the figure, whose
   * sample then outweighs the stale one. Bounds how long a provider that was slow for a moment stays
   * shunned, and how often a still-slow one is retried. Keep it above HEALTH_PUBLISH_MS +
   * HEALTH_REFRESH_MS, the age the global snapshot can reach, or a figure other isolates keep
   * renewing would look stale here.
   */
  HEALTH_STALE_MS: setting(30_000),
  /** How often an isolate sends its batched observations to the HealthDO. */
  HEALTH_FLUSH_MS: backgroundWait(1_000),
  /** How often the HealthDO publishes its snapshot to KV (one writer: KV's 1 write/s holds). */
  HEALTH_PUBLISH_MS: setting(10_000),
  /** How often an isolate refreshes the health snapshot from KV (in the background). */
  HEALTH_REFRESH_MS: setting(10_000),
  /** Cron probes endpoints that carried no traffic for this long, and open circuits. */
  PROBE_IDLE_MS: setting(300_000),
})

export type Config = z.infer<typeof ConfigSchema>

/** Every setting at its default (what an unset variable means); the fault bench scales these. */
export const DEFAULT_CONFIG: Config = ConfigSchema.parse({})

const cache = new WeakMap<object, Config>()

/**
 * The settings of a Worker's `env` (its variables; bindings are ignored), parsed once per env. A
 * setting that is set but unusable falls back to its default, and the log says so once, naming
 * the setting and the rule it broke (never its value).
 */
export function configOf(env: object): Config {
  let config = cache.get(env)
  if (!config) {
    config = ConfigSchema.parse(env)
    cache.set(env, config)
    const unusable = unusableSettings(env as Record<string, unknown>)
    if (unusable.length > 0) console.warn(`settings left at their defaults: ${unusable.join('; ')}`)
    const conflicts = conflictingSettings(config)
    if (conflicts.length > 0) console.warn(`settings that break a rule between them (kept as set): ${conflicts.join('; ')}`)
  }
  return config
}

/** Rules between settings, each of which passed its own: named when broken, as unusable ones are. */
function conflictingSettings(config: Config): string[] {
  return [
    ...(config.HEALTH_STALE_MS <= config.HEALTH_PUBLISH_MS + config.HEALTH_REFRESH_MS
      ? ['HEALTH_STALE_MS (must exceed HEALTH_PUBLISH_MS + HEALTH_REFRESH_MS, the age a published figure can reach)']
      : []),
    ...(config.RESERVATION_TTL_MS <= 10 * config.LEASE_MS ? ['RESERVATION_TTL_MS (must be far above LEASE_MS: milliseconds, not seconds)'] : []),
  ]
}

/** "NAME (why; default D)" for each setting whose value its rule refuses (a blank number is unset, not refused). */
function unusableSettings(raw: Record<string, unknown>): string[] {
  return Object.entries(ConfigSchema.shape).flatMap(([name, field]) => {
    const value = raw[name]
    if (value === undefined || (name !== 'ANTHROPIC_BETAS' && typeof value === 'string' && value.trim() === '')) return []
    const checked = field.unwrap().safeParse(raw[name])
    const why = checked.error?.issues[0]?.message ?? 'invalid'
    return checked.success ? [] : [`${name} (${why}; default ${String(DEFAULT_CONFIG[name as keyof Config])})`]
  })
}

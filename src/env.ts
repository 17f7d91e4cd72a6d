import type { HealthDO } from './health/health-do'
import type { KeyDO } from './tenancy/key-do'

/** Bindings and variables the Worker receives (see wrangler.toml and .dev.vars.example). */
export interface Env {
  KV: KVNamespace
  KEYS: DurableObjectNamespace<KeyDO>
  /** The one HealthDO (named "global") aggregating endpoint health. */
  HEALTH: DurableObjectNamespace<HealthDO>
  /** Management credential: provisions keys and replaces the catalog; never calls inference. */
  ADMIN_TOKEN?: string
  /** Optional overrides of the defaults in config.ts, as strings (wrangler vars). */
  [setting: string]: unknown
}

const BINDINGS = ['KV', 'KEYS', 'HEALTH'] as const
const reported = new WeakSet<object>()

/**
 * The first binding the deployment lacks (a named wrangler environment inherits no
 * `kv_namespaces` or `durable_objects`), said once in the log; null when all are there.
 */
export function missingBinding(env: Env): string | null {
  const missing = BINDINGS.find((name) => env[name] == null) ?? null
  if (missing && !reported.has(env)) console.error(`the ${missing} binding is missing: add it to wrangler.toml (every environment needs KV, KEYS and HEALTH)`)
  if (missing) reported.add(env)
  return missing
}

/**
 * Reads a Worker secret or variable by name, e.g. a provider's `apiKeyEnv`; blank counts as unset.
 * Surrounding whitespace is dropped: no credential has any, and one pasted with it would fail every
 * request of its provider (a space after "Bearer " survives the runtime's header normalisation; a
 * newline at the end of a Bedrock secret key changes every SigV4 signature). A secret with a
 * line break or NUL inside counts as unset too (no header can carry it: every request would fail
 * before leaving, blamed on the provider), and so does one with a character above U+00FF, such as
 * a pasted zero-width space: no credential has one, and the runtime would send it UTF-8 encoded
 * for the provider to refuse, again blamed on the provider. That is said once per isolate in the
 * log (the name, never the value), and the provider is left out of routing like one without a key.
 */
export function secretNamed(env: Env, name: string): string | undefined {
  const value = env[name]
  if (typeof value !== 'string') return undefined
  const trimmed = value.trim()
  if (trimmed.length === 0) return undefined
  if (NOT_IN_A_CREDENTIAL.test(trimmed)) {
    warnOnce(name)
    return undefined
  }
  return trimmed
}

/** CR, LF and NUL (no header value may hold them), and anything above U+00FF (no credential holds it). */
const NOT_IN_A_CREDENTIAL = /[\r\n\0\u0100-\uffff]/

const warned = new Set<string>()

function warnOnce(name: string): void {
  if (warned.has(name)) return
  warned.add(name)
  console.error(`secret ${name} contains a line break, NUL or a character above U+00FF; its provider is treated as having no API key`)
}

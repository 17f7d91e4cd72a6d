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

/** Reads a Worker secret or variable by name, e.g. a provider's `apiKeyEnv`. */
export function secretNamed(env: Env, name: string): string | undefined {
  const value = env[name]
  return typeof value === 'string' && value.length > 0 ? value : undefined
}

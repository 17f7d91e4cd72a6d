import type { Clock } from '../clock'
import type { Env } from '../env'

/** Hono's environment for every route: bindings plus what middleware establishes. */
export interface AppEnv {
  Bindings: Env
  Variables: {
    clock: Clock
    /** SHA-256 hex of the presented tenant key (set by requireTenant). */
    keyHash: string
  }
}

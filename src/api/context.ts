import type { Clock } from '../clock'
import type { Env } from '../env'
import type { GatewayError } from '../errors'

/** Hono's environment for every route: bindings plus what middleware establishes. */
export interface AppEnv {
  Bindings: Env
  Variables: {
    clock: Clock
    /** SHA-256 hex of the presented tenant key (set by requireTenant). */
    keyHash: string
    /** Set as a request goes to admission: from then on the key's object (or a ticket) judges the key. */
    admitting?: boolean
    /** A route's own error shape (set by its first middleware); the app's handler uses it. */
    errorResponse?: (error: GatewayError) => Response
  }
}

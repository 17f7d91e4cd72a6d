import { observe, type EndpointHealth, type HealthConfig } from '../../src/health/stats'
import type { Observation, ObservationKind } from '../../src/health/types'

/** The documented defaults (config.ts), spelled out so a test states the thresholds it relies on. */
export const CONFIG: HealthConfig = {
  HEALTH_WINDOW_MS: 60_000,
  HEALTH_EWMA_WEIGHT_PCT: 20,
  HEALTH_STALE_MS: 30_000,
  CIRCUIT_MIN_SAMPLES: 5,
  CIRCUIT_ERROR_RATE_PCT: 50,
  CIRCUIT_CONSECUTIVE_FAILURES: 3,
  CIRCUIT_OPEN_MS: 20_000,
  COOLDOWN_DEFAULT_MS: 30_000,
}

export function observation(kind: ObservationKind, at: number, extra: Partial<Observation> = {}): Observation {
  return { endpoint: 'test/chat@alpha', kind, at, ttfbMs: null, tokensPerSecond: null, retryAfterMs: null, ...extra }
}

/** A whole minute, so bucket arithmetic in the tables is easy to follow. */
export const T = 1_800_000_000_000

export function fold(observations: Observation[], config: HealthConfig = CONFIG): EndpointHealth {
  let state: EndpointHealth | undefined
  for (const o of observations) state = observe(state, o, config)
  if (!state) throw new Error('fold needs at least one observation')
  return state
}

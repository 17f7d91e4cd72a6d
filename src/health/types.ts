/**
 * The health vocabulary shared by the engine (which observes), the health module (which
 * aggregates) and routing (which reads views). Endpoints are keyed `${modelId}@${providerId}`.
 */

export type ObservationKind = 'success' | 'rate_limited' | 'server_error' | 'timeout' | 'connection_error' | 'bad_response'

/** One upstream attempt's outcome, as the engine saw it. */
export interface Observation {
  endpoint: string
  kind: ObservationKind
  /** Unix ms when the attempt ended. */
  at: number
  /** Time to the upstream's first byte (response headers for JSON, first event for streams). */
  ttfbMs: number | null
  /** Completion tokens per second after the first byte, when a completion was produced. */
  tokensPerSecond: number | null
  /** The pause the provider asked for (a 429's or a 5xx's Retry-After), in ms, when given. */
  retryAfterMs: number | null
  /**
   * Unix ms when the attempt was sent, where it differs from `at`: a request sent before a circuit
   * opened that fails after it turned half-open is no failed probe, and does not re-open it.
   */
  sentAt?: number
}

export type CircuitState = 'closed' | 'open' | 'half_open'

/** What routing needs to know about an endpoint right now. */
export interface HealthView {
  circuit: CircuitState
  /** Until when (Unix ms) a 429, or a failure that asked for a pause, cools the endpoint, or null. */
  coolingUntil: number | null
  /** Failures / (successes + failures) over the recent window; 429s are not failures. */
  errorRate: number
  /** Attempts in the recent window. */
  samples: number
  /** Smoothed time to first byte, or null when unobserved. */
  ttfbMs: number | null
  /** Smoothed completion throughput, or null when unobserved. */
  tokensPerSecond: number | null
  /** Unix ms of the last observation, or null. */
  lastSeen: number | null
  /** This isolate's latest success or failure (its own view only: the published snapshot has none). */
  lastJudged?: Judged | null
}

/** A success or a failure (not a 429): when, and whether it succeeded. */
export interface Judged {
  at: number
  ok: boolean
}

export function endpointKey(modelId: string, providerId: string): string {
  return `${modelId}@${providerId}`
}

/** Health of endpoints by key; a missing key means "nothing known": a fresh endpoint. */
export type HealthLookup = (endpoint: string) => HealthView | undefined

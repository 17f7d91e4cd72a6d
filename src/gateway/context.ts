import type { Endpoint } from '../catalog/snapshot'
import type { Clock } from '../clock'
import type { Config } from '../config'
import type { Env } from '../env'
import type { ChatRequest } from '../formats/openai/request'
import { endpointKey, type Observation } from '../health/types'
import type { RouteTrace } from '../routing/plan'
import type { AttemptRecord, Unserved } from './attempts'
import type { Renderer } from './renderer'
import type { Report } from './usage'

/** The request's `ctx.waitUntil`: work that must finish even after the response went out. */
export type WaitUntil = (promise: Promise<unknown>) => void

/** Everything the engine needs for one request; I/O hooks are injected by the API layer. */
export interface ExecutionContext {
  env: Env
  config: Config
  clock: Clock
  request: ChatRequest
  plan: Endpoint[]
  stream: boolean
  /** Anthropic betas the client asked for and the operator allows (formats/anthropic/betas). */
  betas: readonly string[]
  /** The wire format of the answer (the route's choice). */
  renderer: Renderer
  /** When the request arrived (ms). */
  startedAt: number
  /** The routing trace, when the client asked for it (X-Meridian-Debug: route). */
  trace: RouteTrace | null
  /** The most the request may be charged (Admitted.costCapNano). */
  costCapNano: number
  /** The endpoint (its health key) this request is the half-open probe or stale-figure renewal of, if any (RoutePlan.explores). */
  explores: string | null
  /** Aborts when the client hangs up (request.signal). */
  clientGone: AbortSignal
  /** Reports one attempt's outcome to the health module (never awaited). */
  observe: (observation: Observation) => void
  /** Called exactly once, when the request is over (`at`, by default now), with what it cost and what happened. */
  finish: (outcome: RequestOutcome, at?: number) => void
  /**
   * Keeps the request's reservation from expiring until `running` settles (./renewal: a stream may
   * outlive its TTL), and while `progress`, if given, moves.
   */
  keepReserved: (running: Promise<unknown>, progress?: () => number) => void
  /** Runs work that must not delay the answer (see `offThePath`). */
  later: (work: () => void) => void
}

/**
 * The request's `later`: work that must not delay its answer (a served request's settlement and
 * health report) runs in a timer's turn, after the response has been handed to the runtime (a
 * microtask would run before that), and waitUntil keeps it alive. Measured: the JSON p50 at 300
 * req/s fell by about 0.3 ms (bench/README.md, eleventh round).
 */
export function offThePath(waitUntil: WaitUntil): (work: () => void) => void {
  return (work) =>
    waitUntil(
      new Promise<void>((resolve) =>
        setTimeout(() => {
          try {
            work()
          } finally {
            resolve()
          }
        }, 0),
      ),
    )
}

export interface RequestOutcome {
  endpoint: Endpoint | null
  report: Report | null
  status: 'success' | 'error' | 'cancelled'
  httpStatus: number
  finishReason: string | null
  nativeFinishReason: string | null
  attempts: AttemptRecord[]
  /** Time until the first byte of the answer went to the client. */
  ttfbMs: number | null
  error: string | null
}

/**
 * The outcome of a request that nothing served (its failed attempts cost nothing); `httpStatus` is
 * the status the client got, which its renderer chose (a /v1/messages overload is a 529) or which a
 * committed stream already sent (200).
 */
export function failedOutcome(unserved: Unserved, httpStatus: number): RequestOutcome {
  return {
    endpoint: null,
    report: null,
    status: unserved.clientLeft ? 'cancelled' : 'error',
    httpStatus,
    finishReason: null,
    nativeFinishReason: null,
    attempts: unserved.attempts,
    ttfbMs: null,
    error: unserved.clientLeft ? CLIENT_DISCONNECTED : unserved.error.message,
  }
}

/** A generation record's error when the client hung up. */
export const CLIENT_DISCONNECTED = 'client disconnected'

/**
 * A served request's success, for health: time to the upstream's first byte and the completion
 * throughput after it, until `now` (when the answer was complete).
 */
export function observeSuccess(
  ctx: Pick<ExecutionContext, 'clock' | 'startedAt' | 'observe' | 'stream'>,
  outcome: RequestOutcome,
  attempts: readonly AttemptRecord[],
  now: number,
): void {
  if (!outcome.endpoint || outcome.status === 'error') return
  const serving = attempts.at(-1)
  const upstreamTtfbMs = serving?.firstByteMs ?? serving?.latencyMs ?? 0
  // Generation runs from the serving attempt's first byte: earlier attempts' time is not its own.
  const generatingMs = now - ctx.startedAt - attempts.reduce((sum, attempt) => sum + attempt.latencyMs, 0)
  const tokens = outcome.report?.usage.completionTokens ?? 0
  ctx.observe({
    endpoint: endpointKey(outcome.endpoint.model.id, outcome.endpoint.provider.id),
    kind: 'success',
    at: now,
    ttfbMs: upstreamTtfbMs,
    tokensPerSecond: ctx.stream && generatingMs > 0 && tokens > 0 ? (tokens * 1000) / generatingMs : null,
    retryAfterMs: null,
  })
}

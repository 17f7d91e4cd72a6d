import type { Config } from '../config'
import {
  MAX_MINUTE_BUCKETS,
  MINUTE_MS,
  countInMinutes,
  percentiles,
  pushSample,
  uptime,
  type MinuteBucket,
  type Percentiles,
  type Sample,
} from './history'
import type { CircuitState, HealthView, Judged, Observation, ObservationKind } from './types'

/**
 * Outcome math for one endpoint, pure over an injected time: a sliding window of 10-second
 * buckets for error rates and the circuit breaker, 429 cool-downs, smoothed latency and
 * throughput, plus the longer history the live stats need (history.ts). The rules are
 * documented in docs/health.md.
 */

export type HealthConfig = Pick<
  Config,
  | 'HEALTH_WINDOW_MS'
  | 'HEALTH_EWMA_WEIGHT_PCT'
  | 'HEALTH_STALE_MS'
  | 'CIRCUIT_MIN_SAMPLES'
  | 'CIRCUIT_ERROR_RATE_PCT'
  | 'CIRCUIT_CONSECUTIVE_FAILURES'
  | 'CIRCUIT_OPEN_MS'
  | 'COOLDOWN_DEFAULT_MS'
>

export const BUCKET_MS = 10_000

export interface WindowBucket {
  start: number
  ok: number
  failed: number
  limited: number
}

export interface EndpointHealth {
  window: WindowBucket[]
  minutes: MinuteBucket[]
  consecutiveFailures: number
  /** Non-null while the circuit is open; from this time on it is half-open. */
  openUntil: number | null
  coolingUntil: number | null
  ttfbMs: number | null
  tokensPerSecond: number | null
  ttfbSamples: Sample[]
  throughputSamples: Sample[]
  lastSeen: number | null
  /** The latest success or failure. Absent in states kept before it was. */
  lastJudged?: Judged | null
}

/** OpenRouter's live endpoint fields. Uptime in percent, latency in seconds, throughput in tokens/s. */
export interface EndpointStats {
  uptime_last_5m: number | null
  uptime_last_30m: number | null
  uptime_last_1d: number | null
  latency_last_30m: Percentiles | null
  throughput_last_30m: Percentiles | null
  circuit: CircuitState
  cooling_until: number | null
}

const FAILURES: ReadonlySet<ObservationKind> = new Set(['server_error', 'timeout', 'connection_error', 'bad_response'])

export function isFailure(kind: ObservationKind): boolean {
  return FAILURES.has(kind)
}

export function emptyHealth(): EndpointHealth {
  return {
    window: [],
    minutes: [],
    consecutiveFailures: 0,
    openUntil: null,
    coolingUntil: null,
    ttfbMs: null,
    tokensPerSecond: null,
    ttfbSamples: [],
    throughputSamples: [],
    lastSeen: null,
  }
}

/**
 * The longest a pause asked for cools an endpoint: a day, as a spent daily quota may ask. A
 * Retry-After sent as a Unix time where seconds are meant would otherwise cool it for decades.
 */
const MAX_COOLING_MS = 24 * 3_600_000

/**
 * Folds one observation into an endpoint's state. Updates `state` in place and returns it: the
 * HealthDO folds many observations a second into states holding up to 1,440 minute buckets, and
 * copying them per observation would make each one O(history).
 *
 * A 429 cools the endpoint (for its Retry-After, else COOLDOWN_DEFAULT_MS) without counting as a
 * failure. A failure that asked for a pause (a 503 with Retry-After: "unavailable for this long")
 * counts as a failure and cools the endpoint for that pause too.
 */
export function observe(state: EndpointHealth | undefined, observation: Observation, config: HealthConfig): EndpointHealth {
  const health = state ?? emptyHealth()
  const { at, kind } = observation
  countInWindow(health, at, kind, config)
  if (kind !== 'rate_limited') countInMinutes(health.minutes, at, isFailure(kind))
  const quietMs = health.lastSeen === null ? 0 : at - health.lastSeen
  health.lastSeen = Math.max(health.lastSeen ?? at, at)
  if (kind === 'rate_limited') {
    coolFor(health, at, observation.retryAfterMs ?? config.COOLDOWN_DEFAULT_MS)
  } else if (isFailure(kind)) {
    onFailure(health, at, observation.sentAt ?? at, config)
    if (observation.retryAfterMs !== null) coolFor(health, at, observation.retryAfterMs)
    health.lastJudged = latest(health.lastJudged, { at, ok: false })
  } else {
    onSuccess(health, at)
    health.lastJudged = latest(health.lastJudged, { at, ok: true })
    // Only successes feed latency and throughput: a fast 500 must not look like a fast provider.
    const weight = sampleWeight(quietMs, config)
    if (observation.ttfbMs !== null) {
      health.ttfbMs = ewma(health.ttfbMs, observation.ttfbMs, weight)
      pushSample(health.ttfbSamples, [at, observation.ttfbMs])
    }
    if (observation.tokensPerSecond !== null) {
      health.tokensPerSecond = ewma(health.tokensPerSecond, observation.tokensPerSecond, weight)
      pushSample(health.throughputSamples, [at, observation.tokensPerSecond])
    }
  }
  return health
}

/** Cools the endpoint for `pauseMs` from `at` (a day at most); a shorter pause never cuts a longer one. */
function coolFor(health: EndpointHealth, at: number, pauseMs: number): void {
  const until = at + Math.min(pauseMs, MAX_COOLING_MS)
  health.coolingUntil = Math.max(health.coolingUntil ?? until, until)
}

function latest(current: Judged | null | undefined, next: Judged): Judged {
  return current && current.at > next.at ? current : next
}

export function circuitAt(state: EndpointHealth, now: number): CircuitState {
  if (state.openUntil === null) return 'closed'
  return now >= state.openUntil ? 'half_open' : 'open'
}

export function viewOf(state: EndpointHealth, now: number, config: Pick<HealthConfig, 'HEALTH_WINDOW_MS'>): HealthView {
  const { ok, failed } = windowTotals(state, now, config)
  return {
    circuit: circuitAt(state, now),
    coolingUntil: state.coolingUntil !== null && state.coolingUntil > now ? state.coolingUntil : null,
    errorRate: ok + failed === 0 ? 0 : failed / (ok + failed),
    samples: ok + failed,
    ttfbMs: state.ttfbMs,
    tokensPerSecond: state.tokensPerSecond,
    lastSeen: state.lastSeen,
    lastJudged: state.lastJudged ?? null,
  }
}


/**
 * Local and global views of one endpoint. The global one is a published snapshot, up to
 * HEALTH_PUBLISH_MS + HEALTH_REFRESH_MS old; this isolate's own observations are current. So:
 * - circuit: an open local circuit wins at once. Where the global one is half-open (an open
 *   circuit this isolate may not have seen trip), this isolate's own latest success or failure
 *   since it turned half-open decides as a probe's would: a success closes it (and the failures
 *   that opened it no longer count) and a failure re-opens it (mergedCircuit). Otherwise the
 *   fresher view decides;
 * - cooling: the later of the two;
 * - speeds: this isolate's, when it has observed the endpoint recently and no later than the
 *   global view has (a latency spike shows within a few requests, not after the next snapshot,
 *   and a figure other isolates renewed since replaces this isolate's older one); else global;
 * - error rate: with its own sample count, from the better-sampled view; once a probe closed the
 *   circuit, from the view that saw it close (the failures that opened it are cleared there).
 */
export function mergeViews(local?: HealthView, global?: HealthView, openMs = Number.POSITIVE_INFINITY): HealthView | undefined {
  if (!local || !global) return local ?? global
  const richer = local.samples >= global.samples ? local : global
  const laterOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b))
  const localIsFresher = (local.lastSeen ?? 0) >= (global.lastSeen ?? 0)
  const recentLocal = local.samples > 0 && localIsFresher
  const circuit = mergedCircuit(local, global, localIsFresher, openMs)
  // Rate and sample count come from the same view (the one with more samples), so routing's
  // minimum-sample rule holds: one local failure must not borrow the global view's sample count.
  // The global view already includes this isolate's flushed observations: adding would double count.
  // A circuit this isolate's probe closed counts no failure: those that opened it are cleared.
  const probed = circuit === 'closed' && global.circuit !== 'closed'
  // One another isolate's probe closed (published closed, failures cleared) takes the published
  // rate: this isolate's own failures that opened it would otherwise keep it avoided for a window.
  const closedElsewhere = circuit === 'closed' && local.circuit !== 'closed'
  return {
    circuit,
    coolingUntil: laterOf(local.coolingUntil, global.coolingUntil),
    errorRate: probed ? 0 : closedElsewhere ? global.errorRate : richer.errorRate,
    samples: probed ? local.samples : closedElsewhere ? global.samples : richer.samples,
    ttfbMs: (recentLocal ? local.ttfbMs : null) ?? global.ttfbMs ?? local.ttfbMs,
    tokensPerSecond: (recentLocal ? local.tokensPerSecond : null) ?? global.tokensPerSecond ?? local.tokensPerSecond,
    lastSeen: laterOf(local.lastSeen, global.lastSeen),
  }
}

/**
 * A local outcome counts as the probe of a published open or half-open circuit when it came after
 * the circuit turned half-open: the global view's last observation plus `openMs` (the latest the
 * trip can have been; a probe's outcome taken for earlier is ignored, and the isolate probes again).
 */
function mergedCircuit(local: HealthView, global: HealthView, localIsFresher: boolean, openMs: number): HealthView['circuit'] {
  if (local.circuit === 'open') return 'open'
  if (global.circuit === 'closed') return localIsFresher ? local.circuit : global.circuit
  const judged = local.lastJudged
  if (global.circuit === 'half_open' && judged && judged.at >= (global.lastSeen ?? 0) + openMs) return judged.ok ? 'closed' : 'open'
  return local.circuit === 'half_open' && localIsFresher ? 'half_open' : global.circuit
}

export function endpointStats(state: EndpointHealth, now: number): EndpointStats {
  const since = now - 30 * MINUTE_MS
  return {
    uptime_last_5m: uptime(state.minutes, now, 5),
    uptime_last_30m: uptime(state.minutes, now, 30),
    uptime_last_1d: uptime(state.minutes, now, MAX_MINUTE_BUCKETS),
    latency_last_30m: percentiles(state.ttfbSamples, since, 1000),
    throughput_last_30m: percentiles(state.throughputSamples, since, 1, true),
    circuit: circuitAt(state, now),
    cooling_until: state.coolingUntil !== null && state.coolingUntil > now ? state.coolingUntil : null,
  }
}

function onFailure(health: EndpointHealth, at: number, sentAt: number, config: HealthConfig): void {
  health.consecutiveFailures += 1
  if (health.openUntil !== null) {
    // A failed half-open probe (sent once the circuit turned half-open) re-opens it; failures of
    // requests sent before that, however late they end, do not extend it.
    if (sentAt >= health.openUntil) health.openUntil = at + config.CIRCUIT_OPEN_MS
    return
  }
  const { ok, failed } = windowTotals(health, at, config)
  const judged = ok + failed
  const tooMany = health.consecutiveFailures >= config.CIRCUIT_CONSECUTIVE_FAILURES
  const tooOften = judged >= config.CIRCUIT_MIN_SAMPLES && failed * 100 >= config.CIRCUIT_ERROR_RATE_PCT * judged
  if (tooMany || tooOften) health.openUntil = at + config.CIRCUIT_OPEN_MS
}

function onSuccess(health: EndpointHealth, at: number): void {
  health.consecutiveFailures = 0
  if (health.openUntil !== null && at >= health.openUntil) {
    health.openUntil = null
    // The failures that opened the circuit must not re-open it on the next blip.
    for (const bucket of health.window) bucket.failed = 0
  }
}

/** An observation counts for at least HEALTH_WINDOW_MS and at most one bucket longer. */
function inWindow(bucket: WindowBucket, now: number, windowMs: number): boolean {
  return bucket.start + BUCKET_MS + windowMs > now
}

function windowTotals(state: EndpointHealth, now: number, config: Pick<HealthConfig, 'HEALTH_WINDOW_MS'>) {
  const totals = { ok: 0, failed: 0, limited: 0 }
  for (const bucket of state.window) {
    if (!inWindow(bucket, now, config.HEALTH_WINDOW_MS)) continue
    totals.ok += bucket.ok
    totals.failed += bucket.failed
    totals.limited += bucket.limited
  }
  return totals
}

function countInWindow(health: EndpointHealth, at: number, kind: ObservationKind, config: HealthConfig): void {
  const newest = Math.max(health.lastSeen ?? at, at)
  health.window = health.window.filter((bucket) => inWindow(bucket, newest, config.HEALTH_WINDOW_MS))
  const start = Math.floor(at / BUCKET_MS) * BUCKET_MS
  const probe: WindowBucket = { start, ok: 0, failed: 0, limited: 0 }
  if (!inWindow(probe, newest, config.HEALTH_WINDOW_MS)) return
  let bucket = health.window.find((b) => b.start === start)
  if (!bucket) {
    bucket = probe
    health.window.push(bucket)
    health.window.sort((a, b) => a.start - b.start)
  }
  if (kind === 'rate_limited') bucket.limited += 1
  else if (isFailure(kind)) bucket.failed += 1
  else bucket.ok += 1
}

/**
 * The newest sample's weight: HEALTH_EWMA_WEIGHT_PCT under steady traffic, rising towards 1 as the
 * time since the endpoint's previous observation grows (1 − e^(−quiet / (HEALTH_STALE_MS / 3)),
 * 95% just before the figure is stale), and 1 once it is: the sample that renews a stale figure
 * replaces it. A figure nobody renewed for a while says little about now; even 5% of a 5 s spike
 * kept a recovered provider out of its equals' tie band, and a sticky conversation off it.
 */
export function sampleWeight(quietMs: number, config: Pick<HealthConfig, 'HEALTH_EWMA_WEIGHT_PCT' | 'HEALTH_STALE_MS'>): number {
  if (quietMs >= config.HEALTH_STALE_MS) return 1
  const decayed = 1 - Math.exp((-3 * Math.max(0, quietMs)) / config.HEALTH_STALE_MS)
  return Math.max(config.HEALTH_EWMA_WEIGHT_PCT / 100, decayed)
}

function ewma(previous: number | null, sample: number, weight: number): number {
  return previous === null ? sample : previous + (sample - previous) * weight
}


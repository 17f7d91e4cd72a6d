import { percentiles, type Percentiles } from '../stats'
import type { Belief, RequestRecord } from './records'
import type { Phase } from './timeline'

/**
 * From one mode's request records to its figures, per phase and in time bins. Pure. Times are real
 * seconds from the start of the load; phases start when the fleet acknowledged the change.
 */

export interface PhaseWindow {
  name: string
  fault: Phase['fault']
  /** Real seconds from the start of the load. */
  start: number
  end: number
}

export interface PhaseMetrics {
  phase: string
  /** The provider broken in this phase, or (after a fault) the one that was broken. */
  faulty: string | null
  /** Requests due in the phase (sent or skipped for falling behind). */
  requests: number
  ok: number
  successRate: number | null
  /** Requests that did not succeed, by what the client saw: `HTTP 502`, `timeout`, `failed` (connection or body), `skipped`. */
  failures: Record<string, number>
  /** Up to three of them, as the client saw them. */
  failureExamples: string[]
  /** 2xx only, sent to last byte. */
  latencyMs: Percentiles | null
  /** First attempts by provider, among requests whose first attempt is known. */
  firstAttempts: Record<string, number>
  /** Requests whose first attempt is unknown (no answer, or an error without an attempt log). */
  unknownFirst: number
  /** Share of known first attempts that went to `faulty`. */
  faultyShare: number | null
  /** The same, counting only requests sent `graceS` or more after the phase began (fault phases). */
  faultyShareAfterGrace: number | null
  /** Fault phases: from the fault's start until the first 1 s window in which under 2% of first attempts go to it. */
  detectS: number | null
  /** Phases after a fault: from the phase's start until the first first attempt to the provider that was broken. */
  recoverS: number | null
  /** Phases after a fault: until the end of the first 1 s window in which its share is back to half its baseline share. */
  restoredS: number | null
  meanAttempts: number | null
  /** Mean `usage.cost` of a 2xx, USD. */
  costPerRequest: number | null
}

export interface Bin {
  /** Real seconds from the start of the load. */
  start: number
  requests: number
  failed: number
  firstAttempts: Record<string, number>
  /** What routing believed of each provider for the last 2xx sent in the bin (from its trace). */
  beliefs: Belief[] | null
}

/** Under this share of first attempts over a 1 s window, routing has stopped sending to a provider. */
export const DETECTED_SHARE = 0.02
export const WINDOW_S = 1
/** A 1 s window with fewer known first attempts than this says nothing (the load had stalled). */
const MIN_WINDOW_REQUESTS = 10

function shareOf(records: readonly RequestRecord[], provider: string): number | null {
  const known = records.filter((r) => r.first !== null)
  return known.length === 0 ? null : known.filter((r) => r.first === provider).length / known.length
}

/**
 * The start of the first 1 s window (starting at a request, ending inside the phase) whose share of
 * first attempts to `provider` satisfies `test`, in seconds from the phase's start; null if none.
 */
function firstWindow(records: readonly RequestRecord[], phase: PhaseWindow, provider: string, test: (share: number) => boolean): number | null {
  const known = records.filter((r) => r.first !== null)
  let j = 0
  let inWindow = 0
  let toProvider = 0
  for (let i = 0; i < known.length; i++) {
    const from = known[i]!.t
    if (from + WINDOW_S > phase.end) break
    while (j < known.length && known[j]!.t < from + WINDOW_S) {
      inWindow++
      if (known[j]!.first === provider) toProvider++
      j++
    }
    if (inWindow >= MIN_WINDOW_REQUESTS && test(toProvider / inWindow)) return from - phase.start
    inWindow--
    if (known[i]!.first === provider) toProvider--
  }
  return null
}

/** Traffic is back once a window shows it, at that window's end: never before the first request that went back. */
function windowEnd(start: number | null): number | null {
  return start === null ? null : start + WINDOW_S
}

function failuresOf(records: readonly RequestRecord[], skipped: number): Record<string, number> {
  const out: Record<string, number> = skipped > 0 ? { skipped } : {}
  for (const r of records) {
    if (r.ok) continue
    const what = r.outcome === 'non2xx' ? `HTTP ${r.status ?? '?'}` : r.outcome === 'timeouts' ? 'timeout' : 'failed'
    out[what] = (out[what] ?? 0) + 1
  }
  return out
}

function mean(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length
}

export function phaseMetrics(
  records: readonly RequestRecord[],
  phases: readonly PhaseWindow[],
  graceS: number,
  skippedAt: readonly number[],
): PhaseMetrics[] {
  const byPhase = phases.map((phase) => records.filter((r) => r.t >= phase.start && r.t < phase.end).sort((a, b) => a.t - b.t))
  const baseline = byPhase[0] ?? []
  return phases.map((phase, index) => {
    const inPhase = byPhase[index] ?? []
    const previousFault = phases[index - 1]?.fault ?? null
    const faulty = phase.fault?.provider ?? previousFault?.provider ?? null
    const skipped = skippedAt.filter((t) => t >= phase.start && t < phase.end).length
    const okRecords = inPhase.filter((r) => r.ok)
    const requests = inPhase.length + skipped
    const firstAttempts: Record<string, number> = {}
    for (const r of inPhase) if (r.first !== null) firstAttempts[r.first] = (firstAttempts[r.first] ?? 0) + 1
    const baselineShare = faulty ? shareOf(baseline, faulty) : null
    const recovering = phase.fault === null && faulty !== null
    const back = recovering ? inPhase.find((r) => r.first === faulty) : undefined
    return {
      phase: phase.name,
      faulty,
      requests,
      ok: okRecords.length,
      successRate: requests === 0 ? null : okRecords.length / requests,
      failures: failuresOf(inPhase, skipped),
      failureExamples: inPhase.flatMap((r) => (r.detail === null ? [] : [r.detail])).slice(0, 3),
      latencyMs: percentiles(okRecords.map((r) => r.latencyMs)),
      firstAttempts,
      unknownFirst: inPhase.filter((r) => r.first === null).length,
      faultyShare: faulty ? shareOf(inPhase, faulty) : null,
      faultyShareAfterGrace: phase.fault ? shareOf(inPhase.filter((r) => r.t >= phase.start + graceS), phase.fault.provider) : null,
      detectS: phase.fault ? firstWindow(inPhase, phase, phase.fault.provider, (share) => share < DETECTED_SHARE) : null,
      recoverS: back ? back.t - phase.start : null,
      restoredS:
        recovering && faulty !== null && baselineShare !== null
          ? windowEnd(firstWindow(inPhase, phase, faulty, (share) => share >= baselineShare / 2))
          : null,
      meanAttempts: mean(inPhase.flatMap((r) => (r.attempts === null ? [] : [r.attempts]))),
      costPerRequest: mean(okRecords.flatMap((r) => (r.cost === null ? [] : [r.cost]))),
    }
  })
}

/** Skipped requests (the gateway had fallen far behind) count as requests that failed, first attempt unknown. */
export function timeBins(records: readonly RequestRecord[], skippedAt: readonly number[], totalS: number, binS: number): Bin[] {
  const bins: Bin[] = Array.from({ length: Math.ceil(totalS / binS) }, (_, i) => ({
    start: i * binS,
    requests: 0,
    failed: 0,
    firstAttempts: {},
    beliefs: null,
  }))
  for (const r of records) {
    const bin = bins[Math.min(bins.length - 1, Math.floor(r.t / binS))]
    if (!bin) continue
    bin.requests++
    if (!r.ok) bin.failed++
    if (r.first !== null) bin.firstAttempts[r.first] = (bin.firstAttempts[r.first] ?? 0) + 1
    if (r.beliefs) bin.beliefs = r.beliefs
  }
  for (const t of skippedAt) {
    const bin = bins[Math.min(bins.length - 1, Math.floor(t / binS))]
    if (!bin) continue
    bin.requests++
    bin.failed++
  }
  return bins
}

export interface Overall {
  requests: number
  ok: number
  successRate: number | null
  latencyMs: Percentiles | null
  meanAttempts: number | null
  costPerRequest: number | null
}

export function overall(records: readonly RequestRecord[], skipped: number): Overall {
  const okRecords = records.filter((r) => r.ok)
  const requests = records.length + skipped
  return {
    requests,
    ok: okRecords.length,
    successRate: requests === 0 ? null : okRecords.length / requests,
    latencyMs: percentiles(okRecords.map((r) => r.latencyMs)),
    meanAttempts: mean(records.flatMap((r) => (r.attempts === null ? [] : [r.attempts]))),
    costPerRequest: mean(okRecords.flatMap((r) => (r.cost === null ? [] : [r.cost]))),
  }
}

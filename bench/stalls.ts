/**
 * Where a tail latency comes from (the "answers over N ms" column of `npm run bench`, and
 * `npm run bench:profile -- --stalls <ms>`). A p99 far above the p50 at a steady rate is either
 * every request being a little slow or a few moments when the runtime's one thread answered
 * nothing, so that every request in flight waited together. Two reports tell the cases apart: runs
 * of late requests in send order (each run is one moment), and gaps in the V8 sampler's record of
 * the isolate's thread (moments it could not be sampled: descheduled by the OS, blocked in a system
 * call such as SQLite's fsync, or the sampler itself starved of CPU).
 */

export interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

/** A V8 CPU profile (the DevTools protocol's Profiler.Profile). */
export interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** One request's send and settle times (ms, one clock). */
export interface Timed {
  sentAt: number
  settledAt: number
}

/** Consecutive requests (in send order) all answered after the threshold. */
export interface Stall {
  /** When its first request was sent, in ms after the step's first request. */
  atMs: number
  requests: number
  worstMs: number
}

/** Runs of late requests, worst first. A request answered in time ends a run. */
export function stalls(requests: readonly Timed[], thresholdMs: number): Stall[] {
  const ordered = [...requests].sort((a, b) => a.sentAt - b.sentAt)
  const start = ordered[0]?.sentAt ?? 0
  const runs: Stall[] = []
  let current: Stall | null = null
  for (const request of ordered) {
    const latency = request.settledAt - request.sentAt
    if (latency <= thresholdMs) {
      current = null
      continue
    }
    if (!current) runs.push((current = { atMs: request.sentAt - start, requests: 0, worstMs: 0 }))
    current.requests++
    current.worstMs = Math.max(current.worstMs, latency)
  }
  return runs.sort((a, b) => b.worstMs - a.worstMs)
}

const IDLE = '(idle)'

/** A stretch of the profile with no sample, and the functions sampled either side of it. */
export interface SamplingGap {
  /** When the gap ended, in ms after the profile started. */
  atMs: number
  gapMs: number
  before: string
  after: string
}

/**
 * Gaps between consecutive samples longer than `minMs`, longest first. A gap from idle to idle is
 * the thread waiting for work (the sampler records little then), not a stall, and is left out.
 */
export function samplingGaps(profile: CpuProfile, minMs: number): SamplingGap[] {
  const names = new Map(profile.nodes.map((node) => [node.id, node.callFrame.functionName || '(anonymous)']))
  const gaps: SamplingGap[] = []
  let elapsedUs = 0
  profile.samples.forEach((id, index) => {
    const deltaUs = profile.timeDeltas[index] ?? 0
    elapsedUs += deltaUs
    if (index === 0 || deltaUs <= minMs * 1000) return
    const previous = profile.samples[index - 1]
    const before = (previous !== undefined && names.get(previous)) || '?'
    const after = names.get(id) ?? '?'
    if (before === IDLE && after === IDLE) return
    gaps.push({ atMs: elapsedUs / 1000, gapMs: deltaUs / 1000, before, after })
  })
  return gaps.sort((a, b) => b.gapMs - a.gapMs)
}

/** A step's late requests in short: how many, in how many runs, the worst. */
export interface StallSummary {
  thresholdMs: number
  late: number
  runs: number
  worstMs: number | null
}

export function summariseStalls(requests: readonly Timed[], thresholdMs: number): StallSummary {
  const runs = stalls(requests, thresholdMs)
  return { thresholdMs, late: runs.reduce((sum, run) => sum + run.requests, 0), runs: runs.length, worstMs: runs[0]?.worstMs ?? null }
}

/**
 * The bench's threshold for a late JSON answer: 40 ms after the upstream's own latency, far beyond
 * any gateway's work on one request, so a late answer is one that waited for the runtime's thread.
 */
export function stallThresholdMs(upstreamLatencyMs: number): number {
  return upstreamLatencyMs + 40
}

/// <reference types="node" />
import type { Bundle } from './bundle'
import type { BenchConfig } from './config'
import type { StepResult } from './load'
import type { Provenance } from './provenance'
import { runLine } from './provenance'
import type { Memory } from './runtime'
import type { Percentiles } from './stats'
import { stallThresholdMs, type StallSummary } from './stalls'
import type { TargetName, WorkerStartup } from './targets'

/**
 * Turns measured steps into the report: overheads against the two baselines measured in the same
 * run, the issue-5 targets, and one markdown table printed to the terminal and quoted in the README.
 */

export type Mode = 'json' | 'stream'

export interface Step {
  mode: Mode
  /** Requests per second, or `max` for the closed-loop saturation step. */
  load: number | 'max'
  driver: 'paced' | 'autocannon'
  target: TargetName
  /** 1 for the first measurement of this mode and load; the judged steps are measured `rounds` times. */
  round: number
  result: StepResult
  /** Cores other processes on the machine used during the step (see machine.ts). */
  foreignCores: number
  /** CPU time of the target's runtime (every workerd thread, user + system) per 2xx answer; null for direct. */
  runtimeCpuMsPerOk: number | null
  /** JSON answers at a fixed rate later than the threshold, in runs (./stalls); null for other steps. */
  stalls: StallSummary | null
}

/** Other processes using this many cores during a step make its figures suspect. */
export const BUSY_CORES = 0.1

/** `ms`: this target's figure minus the baseline's; `ratio`: this target's figure over the baseline's. */
export interface Delta {
  ms: number
  ratio: number
}

export interface Overhead {
  metric: 'latency' | 'ttfb'
  vsDirect: { p50: Delta; p99: Delta }
  vsPassthrough: { p50: Delta; p99: Delta }
  /** (target − direct) / (pass-through − direct): how many times the floor's own overhead this target adds. */
  floorMultiple: { p50: number; p99: number }
}

/** One target's outcome, as both benches report it. */
export interface Verdict {
  goal: string
  measured: string
  /** null: not measured in this run. */
  met: boolean | null
}

export interface TargetVerdict extends Verdict {
  target: string
}

export interface BenchResult extends Provenance {
  config: BenchConfig
  bundle: Bundle
  startups: WorkerStartup[]
  memory: { passthrough: Memory; meridian: Memory }
  steps: (Step & { overheads: Overhead[] })[]
  verdicts: TargetVerdict[]
}

function delta(value: number, base: number): Delta {
  return { ms: value - base, ratio: value / base }
}

function overheadOf(metric: 'latency' | 'ttfb', own: Percentiles, direct: Percentiles, passthrough: Percentiles): Overhead {
  return {
    metric,
    vsDirect: { p50: delta(own.p50, direct.p50), p99: delta(own.p99, direct.p99) },
    vsPassthrough: { p50: delta(own.p50, passthrough.p50), p99: delta(own.p99, passthrough.p99) },
    floorMultiple: {
      p50: (own.p50 - direct.p50) / (passthrough.p50 - direct.p50),
      p99: (own.p99 - direct.p99) / (passthrough.p99 - direct.p99),
    },
  }
}

/** A floor multiple for the table: "n/a" where the pass-through was no slower than direct (the ratio means nothing there). */
function floorMultipleText(overhead: Overhead, at: 'p50' | 'p99'): string {
  const floorMs = overhead.vsDirect[at].ms - overhead.vsPassthrough[at].ms
  return floorMs > 0 ? fixed(overhead.floorMultiple[at], 2) : 'n/a'
}

function find<S extends Step>(steps: S[], mode: Mode, load: number | 'max', target: TargetName, round = 1): S | undefined {
  return steps.find((step) => step.mode === mode && step.load === load && step.target === target && step.round === round)
}

/** The loads the issue-5 targets are judged at; the bench measures these `rounds` times. */
export function judgedLoads(config: Pick<BenchConfig, 'rates' | 'connections' | 'streamRates'>): { mode: Mode; load: number | 'max' }[] {
  const streamRate = config.streamRates[0]
  return [
    ...(config.rates.includes(300) ? [{ mode: 'json' as const, load: 300 }] : []),
    ...(config.connections > 0 ? [{ mode: 'json' as const, load: 'max' as const }] : []),
    ...(streamRate === undefined ? [] : [{ mode: 'stream' as const, load: streamRate }]),
  ]
}

/** Overheads of each step against direct and pass-through at the same mode, load and round. */
export function withOverheads(steps: Step[]): (Step & { overheads: Overhead[] })[] {
  return steps.map((step) => {
    const direct = find(steps, step.mode, step.load, 'direct', step.round)?.result
    const passthrough = find(steps, step.mode, step.load, 'passthrough', step.round)?.result
    const overheads: Overhead[] = []
    for (const metric of ['latency', 'ttfb'] as const) {
      const pick = (result: StepResult | undefined) => (metric === 'latency' ? result?.latencyMs : result?.ttfbMs)
      const own = pick(step.result)
      const d = pick(direct)
      const p = pick(passthrough)
      if (own && d && p) overheads.push(overheadOf(metric, own, d, p))
    }
    return { ...step, overheads }
  })
}

const KIB = 1024

/** The median (the mean of the middle two for an even count); NaN for none. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  if (sorted.length === 0) return Number.NaN
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** One figure per round in which it was measured. */
function perRound<T>(steps: (Step & { overheads: Overhead[] })[], figure: (round: number) => T | undefined): T[] {
  const rounds = [...new Set(steps.map((step) => step.round))].sort((a, b) => a - b)
  return rounds.flatMap((round) => {
    const value = figure(round)
    return value === undefined ? [] : [value]
  })
}

/** "median (each round: a, b, c)", or the figure alone when there was one round. */
function roundsText(values: number[], format: (value: number) => string): string {
  // The rounds that could not be judged show as n/a; the median shown is of the others.
  const middle = format(median(values.filter((value) => !Number.isNaN(value))))
  return values.length <= 1 ? middle : `${middle} median (rounds: ${values.map(format).join(', ')})`
}

/**
 * Errors a judged step may have (non-2xx, timeouts, failures, requests skipped): beyond a
 * thousandth of its requests, its round cannot meet a target, whatever its latency says.
 */
const ERROR_ALLOWANCE = 0.001

function erred(result: StepResult): boolean {
  const errors = result.non2xx + result.timeouts + result.failed + result.skipped
  return errors > ERROR_ALLOWANCE * Math.max(1, result.sent + result.skipped)
}

/**
 * A round's floor multiple as the verdict reads it. Where the pass-through added nothing over
 * direct (noise), no multiple of it is meaningful: a target adding nothing meets it (0), one adding
 * anything misses it that round (∞). A round whose step answered nothing, or erred, is NaN.
 */
function judgedMultiple(step: Step & { overheads: Overhead[] }, at: 'p50' | 'p99'): number {
  const overhead = step.overheads.find((o) => o.metric === 'latency')
  if (!overhead || erred(step.result)) return Number.NaN
  const floorMs = overhead.vsDirect[at].ms - overhead.vsPassthrough[at].ms
  if (floorMs > 0) return overhead.floorMultiple[at]
  return overhead.vsDirect[at].ms <= 0 ? 0 : Number.POSITIVE_INFINITY
}

/**
 * Whether the median of per-round figures meets a goal. A round that could not be judged (NaN: an
 * erring or silent step, a floor that answered nothing) misses the target outright: a median
 * tolerates noise, not failure.
 */
const atMost = (values: number[], goal: number) => !values.some(Number.isNaN) && median(values) <= goal
const atLeast = (values: number[], goal: number) => !values.some(Number.isNaN) && median(values) >= goal

export function verdicts(steps: (Step & { overheads: Overhead[] })[], bundle: Bundle, config: BenchConfig): TargetVerdict[] {
  const out: TargetVerdict[] = []
  const latency300 = perRound(steps, (round) => find(steps, 'json', 300, 'meridian-quota', round))
  const p50s = latency300.map((step) => judgedMultiple(step, 'p50'))
  const p99s = latency300.map((step) => judgedMultiple(step, 'p99'))
  const times = (value: number) => `${fixed(value, 2)}×`
  out.push({
    target: 'overhead at 300 req/s (quota key)',
    goal: '≤ 1.5× the pass-through’s overhead at p50, ≤ 2× at p99',
    measured: latency300.length > 0 ? `${roundsText(p50s, times)} at p50; ${roundsText(p99s, times)} at p99` : 'not measured (300 not in --rates)',
    met: latency300.length > 0 ? atMost(p50s, 1.5) && atMost(p99s, 2) : null,
  })
  const saturation = perRound(steps, (round) => {
    const quota = find(steps, 'json', 'max', 'meridian-quota', round)?.result
    const pass = find(steps, 'json', 'max', 'passthrough', round)?.result
    if (!quota || !pass) return undefined
    // A pass-through that answered nothing, or erred, measured no floor; an erring Meridian misses.
    const share = pass.throughput > 0 && !erred(pass) && !erred(quota) ? quota.throughput / pass.throughput : Number.NaN
    return { share, quota: quota.throughput, pass: pass.throughput }
  })
  const shares = saturation.map((s) => s.share)
  out.push({
    target: 'throughput at saturation (quota key)',
    goal: '≥ 70% of the pass-through’s',
    measured:
      saturation.length === 0
        ? 'not measured (--connections 0)'
        : `${roundsText(shares, (share) => `${fixed(share * 100, 0)}%`)}; ${saturation.map((s) => `${fixed(s.quota, 0)} vs ${fixed(s.pass, 0)}`).join(', ')} req/s`,
    met: saturation.length === 0 ? null : atLeast(shares, 0.7),
  })
  const streamRate = config.streamRates[0]
  const ttfbs = streamRate === undefined
    ? []
    : perRound(steps, (round) => {
        const step = find(steps, 'stream', streamRate, 'meridian-quota', round)
        if (!step) return undefined
        const overhead = step.overheads.find((o) => o.metric === 'ttfb')
        return overhead && !erred(step.result) ? overhead.vsPassthrough.p50.ms : Number.NaN
      })
  out.push({
    target: `streaming TTFB at ${streamRate ?? '-'} req/s (quota key)`,
    goal: 'p50 within 1 ms of the pass-through’s',
    measured: ttfbs.length > 0 ? roundsText(ttfbs, (ms) => `${signed(ms)} ms`) : 'not measured',
    met: ttfbs.length > 0 ? atMost(ttfbs, 1) : null,
  })
  out.push({
    target: 'bundle size (as deployed)',
    goal: '< 200 KiB gzipped',
    measured: `${fixed(bundle.deployed.gzipBytes / KIB, 1)} KiB gzipped (${fixed(bundle.minified.gzipBytes / KIB, 1)} KiB minified)`,
    met: bundle.deployed.gzipBytes < 200 * KIB,
  })
  return out
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a'
}

function signed(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${fixed(ms, 2)}`
}

function deltaCell(d: Delta | undefined): string {
  return d ? `${signed(d.ms)} (${fixed(d.ratio, 2)}×)` : ''
}

function stallsCell(stalls: StallSummary | null): string {
  if (!stalls) return ''
  return stalls.worstMs === null ? '0' : `${stalls.late} in ${stalls.runs}, ${fixed(stalls.worstMs, 0)} ms`
}

function errorsCell(r: StepResult): string {
  const parts = [
    [r.non2xx, 'non-2xx'],
    [r.timeouts, 'timeout'],
    [r.failed, 'failed'],
    [r.skipped, 'skipped'],
  ] as const
  const nonzero = parts.filter(([count]) => count > 0).map(([count, label]) => `${count} ${label}`)
  return nonzero.length === 0 ? '0' : nonzero.join(', ')
}

const MB = 1024 * 1024

function busyLine(steps: Step[]): string {
  const cores = steps.map((step) => step.foreignCores)
  const mean = cores.reduce((sum, c) => sum + c, 0) / Math.max(1, cores.length)
  const busy = cores.filter((c) => c >= BUSY_CORES).length
  return (
    `- Other processes used ${fixed(mean, 2)} cores on average during the steps (max ${fixed(Math.max(0, ...cores), 2)}); ` +
    (busy === 0 ? 'the machine was quiet.' : `**${busy} of ${cores.length} steps ran on a busy machine** (bold in the last column): treat them as noise.`)
  )
}

/** The report as markdown: a summary, the verdicts, and one row per step. */
export function renderReport(result: BenchResult): string {
  const { config, bundle } = result
  const lines: string[] = []
  lines.push(
    `${runLine(result)}: ${config.durationS} s per step, upstream ${config.upstream.latencyMs} ms latency, ` +
      `streams of ${config.upstream.chunks} chunks ${config.upstream.chunkDelayMs} ms apart; fixed rates by the ${config.rateDriver} driver, ` +
      `saturation by autocannon with ${config.connections} connections; the gateway's Durable Objects run ` +
      (config.objects === 'apart' ? 'in a second workerd process (their CPU and RSS counted with the gateway\'s) and store ' : 'in the gateway\'s process and store ') +
      (config.objectStorage === 'tmpfs' ? 'on tmpfs (/dev/shm).' : "on disk (Miniflare's temporary directory)."),
    '',
    `- Bundle: ${fixed(bundle.deployed.bytes / KIB, 1)} KiB, ${fixed(bundle.deployed.gzipBytes / KIB, 1)} KiB gzipped as deployed; ` +
      `${fixed(bundle.minified.bytes / KIB, 1)} KiB, ${fixed(bundle.minified.gzipBytes / KIB, 1)} KiB gzipped minified.`,
    ...result.startups.map(
      (s) => `- Startup (${s.worker}): socket ready ${fixed(s.readyMs, 0)} ms, first 200 ${fixed(s.firstOkMs, 0)} ms after \`new Miniflare()\`.`,
    ),
    busyLine(result.steps),
    `- Peak RSS of workerd: pass-through ${fixed(result.memory.passthrough.peakRssBytes / MB, 0)} MiB, ` +
      `Meridian ${fixed(result.memory.meridian.peakRssBytes / MB, 0)} MiB.`,
    '',
    '| target | goal | measured | met |',
    '| --- | --- | --- | --- |',
    ...result.verdicts.map((v) => `| ${v.target} | ${v.goal} | ${v.measured} | ${v.met === null ? '–' : v.met ? 'yes' : '**no**'} |`),
    '',
    `| mode | load | target | ok req/s | p50 ms | p90 ms | p99 ms | errors | p50 vs direct | p50 vs pass-through | p99 vs pass-through | × floor p50 / p99 | TTFB p50 ms | TTFB p50 vs pass-through | runtime CPU ms / req | answers over ${stallThresholdMs(config.upstream.latencyMs)} ms: in runs, worst | other CPU |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  )
  for (const step of result.steps) {
    const r = step.result
    const latency = step.overheads.find((o) => o.metric === 'latency')
    const ttfb = step.overheads.find((o) => o.metric === 'ttfb')
    const isBaseline = step.target === 'direct'
    const multiple = latency && step.target !== 'direct' && step.target !== 'passthrough'
      ? `${floorMultipleText(latency, 'p50')} / ${floorMultipleText(latency, 'p99')}`
      : ''
    lines.push(
      [
        step.mode,
        `${step.load === 'max' ? `max (${config.connections} conn)` : `${step.load}/s`}${step.round > 1 ? ` (round ${step.round})` : ''}`,
        step.target,
        fixed(r.throughput, 0),
        fixed(r.latencyMs?.p50 ?? Number.NaN, 2),
        fixed(r.latencyMs?.p90 ?? Number.NaN, 2),
        fixed(r.latencyMs?.p99 ?? Number.NaN, 2),
        errorsCell(r),
        isBaseline ? '' : deltaCell(latency?.vsDirect.p50),
        isBaseline || step.target === 'passthrough' ? '' : deltaCell(latency?.vsPassthrough.p50),
        isBaseline || step.target === 'passthrough' ? '' : deltaCell(latency?.vsPassthrough.p99),
        multiple,
        r.ttfbMs ? fixed(r.ttfbMs.p50, 2) : '',
        ttfb && step.target !== 'direct' && step.target !== 'passthrough' ? deltaCell(ttfb.vsPassthrough.p50) : '',
        step.runtimeCpuMsPerOk === null ? '' : fixed(step.runtimeCpuMsPerOk, 2),
        stallsCell(step.stalls),
        step.foreignCores >= BUSY_CORES ? `**${fixed(step.foreignCores, 2)}**` : fixed(step.foreignCores, 2),
      ].join(' | ').replace(/^/, '| ').replace(/$/, ' |'),
    )
  }
  return lines.join('\n')
}

export const README_START = '<!-- bench:results:start -->'
export const README_END = '<!-- bench:results:end -->'

/** Replaces the block between the markers with the new report (the README quotes the latest run). */
/** Replaces what lies between two markers of the README (by default, this bench's results). */
export function withReportInReadme(readme: string, report: string, markers = { start: README_START, end: README_END }): string {
  const start = readme.indexOf(markers.start)
  const end = readme.indexOf(markers.end)
  if (start === -1 || end === -1 || end < start) throw new Error(`bench/README.md lacks the ${markers.start} … ${markers.end} markers`)
  return `${readme.slice(0, start + markers.start.length)}\n${report}\n${readme.slice(end)}`
}

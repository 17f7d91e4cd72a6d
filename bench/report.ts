/// <reference types="node" />
import type { Bundle } from './bundle'
import type { BenchConfig } from './config'
import type { StepResult } from './load'
import type { Provenance } from './provenance'
import { runLine } from './provenance'
import type { Memory } from './runtime'
import type { Percentiles } from './stats'
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
  result: StepResult
  /** Cores other processes on the machine used during the step (see machine.ts). */
  foreignCores: number
  /** CPU time of the target's runtime (every workerd thread, user + system) per 2xx answer; null for direct. */
  runtimeCpuMsPerOk: number | null
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

function find<S extends Step>(steps: S[], mode: Mode, load: number | 'max', target: TargetName): S | undefined {
  return steps.find((step) => step.mode === mode && step.load === load && step.target === target)
}

/** Overheads of each step against direct and pass-through at the same mode and load. */
export function withOverheads(steps: Step[]): (Step & { overheads: Overhead[] })[] {
  return steps.map((step) => {
    const direct = find(steps, step.mode, step.load, 'direct')?.result
    const passthrough = find(steps, step.mode, step.load, 'passthrough')?.result
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

export function verdicts(steps: (Step & { overheads: Overhead[] })[], bundle: Bundle, config: BenchConfig): TargetVerdict[] {
  const out: TargetVerdict[] = []
  const at300 = find(steps, 'json', 300, 'meridian-quota')
  const latency300 = at300?.overheads.find((o) => o.metric === 'latency')
  out.push({
    target: 'overhead at 300 req/s (quota key)',
    goal: '≤ 1.5× the pass-through’s overhead at p50, ≤ 2× at p99',
    measured: latency300 ? `${fixed(latency300.floorMultiple.p50, 2)}× at p50, ${fixed(latency300.floorMultiple.p99, 2)}× at p99` : 'not measured (300 not in --rates)',
    met: latency300 ? latency300.floorMultiple.p50 <= 1.5 && latency300.floorMultiple.p99 <= 2 : null,
  })
  const maxQuota = find(steps, 'json', 'max', 'meridian-quota')?.result
  const maxPass = find(steps, 'json', 'max', 'passthrough')?.result
  const share = maxQuota && maxPass ? maxQuota.throughput / maxPass.throughput : null
  out.push({
    target: 'throughput at saturation (quota key)',
    goal: '≥ 70% of the pass-through’s',
    measured: share === null ? 'not measured (--connections 0)' : `${fixed(share * 100, 0)}% (${fixed(maxQuota?.throughput ?? 0, 0)} vs ${fixed(maxPass?.throughput ?? 0, 0)} req/s)`,
    met: share === null ? null : share >= 0.7,
  })
  const streamRate = config.streamRates[0]
  const streamQuota = streamRate === undefined ? undefined : find(steps, 'stream', streamRate, 'meridian-quota')
  const ttfb = streamQuota?.overheads.find((o) => o.metric === 'ttfb')
  out.push({
    target: `streaming TTFB at ${streamRate ?? '-'} req/s (quota key)`,
    goal: 'p50 within 1 ms of the pass-through’s',
    measured: ttfb ? `${signed(ttfb.vsPassthrough.p50.ms)} ms` : 'not measured',
    met: ttfb ? ttfb.vsPassthrough.p50.ms <= 1 : null,
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
      `saturation by autocannon with ${config.connections} connections.`,
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
    '| mode | load | target | ok req/s | p50 ms | p90 ms | p99 ms | errors | p50 vs direct | p50 vs pass-through | p99 vs pass-through | × floor p50 / p99 | TTFB p50 ms | TTFB p50 vs pass-through | runtime CPU ms / req | other CPU |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  )
  for (const step of result.steps) {
    const r = step.result
    const latency = step.overheads.find((o) => o.metric === 'latency')
    const ttfb = step.overheads.find((o) => o.metric === 'ttfb')
    const isBaseline = step.target === 'direct'
    const multiple = latency && step.target !== 'direct' && step.target !== 'passthrough'
      ? `${fixed(latency.floorMultiple.p50, 2)} / ${fixed(latency.floorMultiple.p99, 2)}`
      : ''
    lines.push(
      [
        step.mode,
        step.load === 'max' ? `max (${config.connections} conn)` : `${step.load}/s`,
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

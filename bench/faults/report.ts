import type { Bin, Overall, PhaseMetrics, PhaseWindow } from './analyse'
import type { ProviderCounts } from './fleet-control'
import type { FaultsConfig, RoutingMode } from './config'
import type { Provenance } from '../provenance'
import { runLine } from '../provenance'
import type { Verdict } from '../report'
import { timelineSeconds, type Phase } from './timeline'

/**
 * The fault bench's result document, the issue-5 verdicts, and the markdown printed to the
 * terminal and quoted in bench/README.md ("Routing under faults").
 */

export interface ModeResult {
  mode: RoutingMode
  /** The client location the gateway saw in `meridian_route.client` (null: it saw none). */
  clientSeen: { latitude: number; longitude: number; colo: string | null } | null
  startupMs: number
  /** Cores used by other processes during the timeline (machine.ts). */
  foreignCores: number
  skipped: number
  /** 2xx answers whose x-meridian-* headers disagreed with their attempt log (should be 0). */
  headerMismatches: number
  /** Requests each simulated provider received (every attempt, not only first ones; refused connections are not seen). */
  fleetCounts: Record<string, ProviderCounts>
  /** Attempts per provider according to the gateway's attempt logs, for comparison with `fleetCounts`. */
  loggedAttempts: Record<string, number>
  overall: Overall
  phaseWindows: PhaseWindow[]
  /** When each cron run (health probes) ended, real seconds from the start of the load. */
  cronRuns: number[]
  phases: PhaseMetrics[]
  bins: Bin[]
}

export interface ModeVerdict extends Verdict {
  mode: RoutingMode
}

export interface FaultsResult extends Provenance {
  config: FaultsConfig
  timeline: readonly Phase[]
  /** The gateway settings the run set (time settings × time scale). */
  gatewaySettings: Record<string, string>
  client: Record<string, string>
  fleet: { id: string; region: string; latencyMs: number; pricing: { prompt: string; completion: string } }[]
  /** Path of the chart, relative to the repository. */
  chart: string
  modes: ModeResult[]
  verdicts: ModeVerdict[]
}

/** Fault phases the "< 2% beyond the first 5 s" target is judged on; flapping is reported, not judged
 *  (half of it the provider is healthy, and probing it then is right). */
const JUDGED_FAULTS = ['outage', '429 storm', 'latency spike']
const SUCCESS_GOAL = 0.999
export const RECOVERY_GOAL_S = 30
/** Each fault, and the phase after it in which its recovery is judged. */
export const JUDGED_RECOVERIES = [
  ['outage', 'after outage'],
  ['429 storm', 'after 429s'],
  ['flapping', 'after flapping'],
  ['latency spike', 'after spike'],
] as const

const pct = (value: number | null, digits = 1) => (value === null ? '–' : `${(value * 100).toFixed(digits)}%`)
/** A success rate truncated to two decimals, so 1,997 of 1,999 reads 99.89%, not a 99.90% that misses the 99.9% goal. */
const pctDown = (value: number | null) => (value === null ? '–' : `${(Math.floor(value * 10_000) / 100).toFixed(2)}%`)
const ms = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(0))
const secs = (value: number | null) => (value === null ? 'never' : `${value.toFixed(1)} s`)
const microUsd = (value: number | null) => (value === null ? '–' : (value * 1e6).toFixed(1))

function phase(result: ModeResult, name: string): PhaseMetrics | undefined {
  return result.phases.find((p) => p.phase === name)
}

/** Recovery in virtual seconds: the time that governs it (CIRCUIT_OPEN_MS, health publishing) is scaled. */
function virtual(realS: number | null, scale: number): number | null {
  return realS === null ? null : realS / scale
}

export function verdicts(modes: ModeResult[], config: FaultsConfig): ModeVerdict[] {
  return modes.flatMap((result) => {
    const outage = phase(result, 'outage')
    const success = outage?.successRate ?? null
    // A judged fault whose phase has no share (no answer told its first attempt) was not measured: the target is missed.
    const shares = JUDGED_FAULTS.map((name) => ({ name, share: phase(result, name)?.faultyShareAfterGrace ?? null }))
    const worst = shares.reduce((most, s) => (s.share === null ? Number.POSITIVE_INFINITY : Math.max(most, s.share)), 0)
    // Noticed: the provider's traffic back to half its baseline share (one timed probe is not enough).
    const recoveries = JUDGED_RECOVERIES.flatMap(([fault, after]) => {
      const recovered = phase(result, after)
      return recovered ? [{ fault, s: virtual(recovered.restoredS, config.timeScale) }] : []
    })
    return [
      {
        mode: result.mode,
        goal: `≥ ${SUCCESS_GOAL * 100}% success while one of three providers is hard down`,
        measured: `${pctDown(success)} (${outage?.ok ?? 0} of ${outage?.requests ?? 0})`,
        met: success === null ? null : success >= SUCCESS_GOAL,
      },
      {
        mode: result.mode,
        goal: `< 2% of first attempts to the faulty provider beyond the first ${config.graceS} s (${JUDGED_FAULTS.join(', ')})`,
        measured: shares.map((s) => `${s.name} ${pct(s.share, 2)}`).join(', '),
        met: worst < 0.02,
      },
      {
        mode: result.mode,
        goal: `recovery noticed within ${RECOVERY_GOAL_S} s after each fault (virtual seconds; the provider's share back to half its baseline)`,
        measured: recoveries.map((r) => `${r.fault} ${r.s === null ? 'not within the phase' : `${r.s.toFixed(1)} s`}`).join(', '),
        met: recoveries.length === 0 ? null : recoveries.every((r) => r.s !== null && r.s <= RECOVERY_GOAL_S),
      },
    ]
  })
}

export function renderReport(result: FaultsResult): string {
  const { config } = result
  const lines: string[] = []
  const scale = config.timeScale
  const busy = result.modes.filter((m) => m.foreignCores >= 0.1)
  lines.push(
    `${runLine(result)}: ${config.rate} req/s paced for the whole timeline, time scale ${scale} (a ${timelineSeconds(result.timeline)} s timeline in ${(timelineSeconds(result.timeline) * scale).toFixed(0)} s), client in ${result.client.city} (${result.client.colo}). Chart: [\`${result.chart.split('/').pop()}\`](${result.chart.replace(/^bench\//, '')}).`,
    '',
  )
  const unseen = result.modes.filter((m) => m.clientSeen === null)
  if (unseen.length > 0) lines.push(`- **The gateway saw no client location** in ${unseen.map((m) => m.mode).join(', ')}: geography played no part there.`)
  if (busy.length > 0) lines.push(`- Other processes used ≥ 0.1 cores during ${busy.map((m) => `${m.mode} (${m.foreignCores.toFixed(2)})`).join(', ')}: latencies there are noisy.`)
  const mismatches = result.modes.reduce((sum, m) => sum + m.headerMismatches, 0)
  if (mismatches > 0) lines.push(`- ${mismatches} answers had x-meridian-* headers disagreeing with their attempt log.`)
  const skipped = result.modes.filter((m) => m.skipped > 0)
  if (skipped.length > 0) lines.push(`- The gateway fell far behind (requests skipped at ${config.maxInFlight} in flight) in ${skipped.map((m) => `${m.mode} (${m.skipped})`).join(', ')}.`)
  if (lines.at(-1) !== '') lines.push('')

  lines.push('| mode | goal | measured | met |', '| --- | --- | --- | --- |')
  for (const v of result.verdicts) lines.push(`| ${v.mode} | ${v.goal} | ${v.measured} | ${v.met === null ? '–' : v.met ? 'yes' : '**no**'} |`)
  lines.push('')

  lines.push(
    `| mode | success (all) | success (outage) | p50 ms | p99 ms | faulty first attempts after ${config.graceS} s: outage / 429 / flapping / spike | detect outage | recovery noticed after outage (virtual: restored) | attempts / req | µ$ / req | other CPU |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  )
  for (const m of result.modes) {
    const share = (name: string) => pct(phase(m, name)?.faultyShareAfterGrace ?? null, 2)
    lines.push(
      `| ${m.mode} | ${pct(m.overall.successRate, 2)} | ${pct(phase(m, 'outage')?.successRate ?? null, 2)} | ${ms(m.overall.latencyMs?.p50)} | ${ms(m.overall.latencyMs?.p99)} | ${['outage', '429 storm', 'flapping', 'latency spike'].map(share).join(' / ')} | ${secs(phase(m, 'outage')?.detectS ?? null)} | ${secs(virtual(phase(m, 'after outage')?.restoredS ?? null, scale))} | ${m.overall.meanAttempts?.toFixed(2) ?? '–'} | ${microUsd(m.overall.costPerRequest)} | ${m.foreignCores >= 0.1 ? `**${m.foreignCores.toFixed(2)}**` : m.foreignCores.toFixed(2)} |`,
    )
  }
  lines.push('')

  const providers = result.fleet.map((p) => p.id)
  lines.push(
    `| phase | mode | requests | success | p50 ms | p99 ms | first attempts ${providers.join(' / ')} | faulty: share / after ${config.graceS} s | detect | recover / restored (virtual) | attempts / req | µ$ / req |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  )
  for (const [index, p] of result.timeline.entries()) {
    for (const m of result.modes) {
      const row = m.phases[index]
      if (!row) continue
      const known = Object.values(row.firstAttempts).reduce((a, b) => a + b, 0)
      const split = providers.map((id) => pct(known === 0 ? null : (row.firstAttempts[id] ?? 0) / known, 0)).join(' / ')
      const faulty = row.faulty === null ? '' : `${pct(row.faultyShare, 1)} / ${p.fault ? pct(row.faultyShareAfterGrace, 2) : '–'}`
      const recovery = p.fault || row.faulty === null ? '' : `${secs(virtual(row.recoverS, scale))} / ${secs(virtual(row.restoredS, scale))}`
      const failures = Object.entries(row.failures).map(([what, n]) => `${n} × ${what}`).join(', ')
      lines.push(
        `| ${p.name}${p.fault ? ` (${p.fault.describe})` : ''} | ${m.mode} | ${row.requests} | ${pct(row.successRate, 2)}${failures ? ` (${failures})` : ''} | ${ms(row.latencyMs?.p50)} | ${ms(row.latencyMs?.p99)} | ${split} | ${faulty} | ${p.fault ? secs(row.detectS) : ''} | ${recovery} | ${row.meanAttempts?.toFixed(2) ?? '–'} | ${microUsd(row.costPerRequest)} |`,
      )
    }
  }
  return lines.join('\n')
}

export const FAULTS_README_MARKERS = { start: '<!-- bench:faults:start -->', end: '<!-- bench:faults:end -->' }

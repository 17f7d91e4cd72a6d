/// <reference types="node" />
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { runMain, withTempDir } from './cli'
import { buildScript } from './bundle'
import { requestBody } from './check'
import { pacedStep } from './load'
import { cpuSnapshot, foreignCores, waitForQuiet } from './machine'
import { provenance } from './provenance'
import { withReportInReadme } from './report'
import { overall, phaseMetrics, timeBins, type PhaseWindow } from './faults/analyse'
import { renderChart } from './faults/chart'
import { faultsConfig, type FaultsConfig, type RoutingMode } from './faults/config'
import { startFleet, type RunningFleet } from './faults/fleet-control'
import { startFaultGateway, type FaultGateway } from './faults/gateway'
import { toRecord, type RequestRecord } from './faults/records'
import { FAULTS_README_MARKERS, renderReport, verdicts, type FaultsResult, type ModeResult } from './faults/report'
import { CLIENT_CF, CRON_EVERY_S, FLEET, TIMELINE, realBehaviour, scaledSettings, timelineSeconds } from './faults/timeline'

/**
 * `npm run bench:faults`: routing under faults. Starts the simulated fleet (its own process), then
 * for each routing mode a fresh gateway under Miniflare, and plays the same timeline of faults
 * against it while paced load runs; analyses every answer's attempt log, charts the traffic share
 * per provider, and reports. Flags: faults/config.ts; what the numbers mean: bench/README.md.
 */

const root = fileURLToPath(new URL('..', import.meta.url))
const log = (line: string) => process.stderr.write(`${line}\n`)
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const Trace = z.object({
  meridian_route: z.object({ client: z.object({ latitude: z.number(), longitude: z.number(), colo: z.string().nullable() }).nullable() }),
})

/** One request before the load: it must succeed, and shows whether the gateway saw the client's location. */
async function preflight(gateway: FaultGateway): Promise<ModeResult['clientSeen']> {
  const res = await fetch(gateway.url, { method: 'POST', headers: gateway.headers, body: requestBody(false).toString('utf8'), signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`the gateway answered ${res.status} before the load: ${text.slice(0, 500)}`)
  return Trace.parse(JSON.parse(text)).meridian_route.client
}

const healthy = (id: string) => ({ kind: 'healthy' as const, latencyMs: FLEET.find((p) => p.id === id)?.latencyMs ?? 0 })

/**
 * Applies each phase at its (scaled) time from `loadStart` and records when the fleet confirmed it:
 * that moment, not the planned one, is where the phase begins in the analysis.
 */
async function playTimeline(fleet: RunningFleet, loadStart: number, scale: number): Promise<number[]> {
  const starts: number[] = []
  let plannedS = 0
  let previousFault: string | null = null
  for (const phase of TIMELINE) {
    await sleep(Math.max(0, loadStart + plannedS * scale * 1000 - performance.now()))
    if (previousFault && previousFault !== phase.fault?.provider) await fleet.set(previousFault, healthy(previousFault))
    if (phase.fault) await fleet.set(phase.fault.provider, realBehaviour(phase.fault.behaviour, scale))
    starts.push((performance.now() - loadStart) / 1000)
    previousFault = phase.fault?.provider ?? null
    plannedS += phase.seconds
  }
  return starts
}

/** Fires the cron handler at every CRON_EVERY_S of the timeline; returns when each run began (real s). */
async function playCron(gateway: FaultGateway, loadStart: number, scale: number, totalS: number): Promise<number[]> {
  const fired: number[] = []
  for (let at = CRON_EVERY_S; at * scale < totalS; at += CRON_EVERY_S) {
    await sleep(Math.max(0, loadStart + at * scale * 1000 - performance.now()))
    fired.push((performance.now() - loadStart) / 1000)
    await gateway.cron()
  }
  return fired
}

function attemptsLogged(records: RequestRecord[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const r of records) for (const provider of r.tried) counts[provider] = (counts[provider] ?? 0) + 1
  return counts
}

async function runMode(mode: RoutingMode, config: FaultsConfig, script: string, fleet: RunningFleet): Promise<ModeResult> {
  await fleet.reset()
  const started = performance.now()
  const gateway = await startFaultGateway(root, script, mode, config.timeScale, FLEET, fleet.baseUrls, config.overrides)
  const startupMs = performance.now() - started
  try {
    const clientSeen = await preflight(gateway)
    await fleet.reset()
    const totalS = timelineSeconds(TIMELINE) * config.timeScale
    log(`  ${mode}: ${totalS.toFixed(0)} s of load at ${config.rate} req/s${clientSeen ? '' : ' (the gateway sees no client location)'}`)
    const records: RequestRecord[] = []
    const skippedAt: number[] = []
    const before = cpuSnapshot()
    const loadStart = performance.now()
    const [step, starts, cronRuns] = await Promise.all([
      pacedStep(gateway, {
        rate: config.rate,
        durationS: totalS,
        stream: false,
        timeoutMs: config.timeoutMs,
        maxInFlight: config.maxInFlight,
        onSettled: (settled) => records.push(toRecord(settled, loadStart)),
        onSkipped: (at) => skippedAt.push((at - loadStart) / 1000),
      }),
      playTimeline(fleet, loadStart, config.timeScale),
      config.cron ? playCron(gateway, loadStart, config.timeScale, totalS) : Promise.resolve([]),
    ])
    const others = foreignCores(before, cpuSnapshot(), cpus().length)
    const phaseWindows: PhaseWindow[] = TIMELINE.map((phase, i) => ({
      name: phase.name,
      fault: phase.fault,
      start: i === 0 ? 0 : (starts[i] ?? totalS),
      end: starts[i + 1] ?? totalS,
    }))
    const phases = phaseMetrics(records, phaseWindows, config.graceS, skippedAt)
    const result: ModeResult = {
      mode,
      clientSeen,
      startupMs,
      foreignCores: others,
      skipped: step.skipped,
      headerMismatches: records.filter((r) => r.headersAgree === false).length,
      fleetCounts: await fleet.counts(),
      loggedAttempts: attemptsLogged(records),
      overall: overall(records, step.skipped),
      phaseWindows,
      cronRuns,
      phases,
      bins: timeBins(records, skippedAt, totalS, config.timeScale),
    }
    const outage = phases.find((p) => p.phase === 'outage')
    log(
      `  ${mode}: ${(100 * (result.overall.successRate ?? 0)).toFixed(2)}% ok, p99 ${result.overall.latencyMs?.p99.toFixed(0) ?? '–'} ms, outage: ${(100 * (outage?.faultyShareAfterGrace ?? 0)).toFixed(2)}% first attempts to ${outage?.faulty ?? '?'} after ${config.graceS} s${others >= 0.1 ? ` (other processes used ${others.toFixed(2)} cores)` : ''}`,
    )
    return result
  } finally {
    await gateway.dispose()
  }
}

async function main(): Promise<void> {
  const config = faultsConfig(process.argv.slice(2), process.env)
  const totalS = timelineSeconds(TIMELINE) * config.timeScale
  log(`Meridian fault bench "${config.name}": ${config.modes.length} modes × ${totalS.toFixed(0)} s (time scale ${config.timeScale}), about ${Math.ceil((config.modes.length * (totalS + 4) + 15) / 60)} min`)
  // What is measured is the source as built now: a later edit must not change the run's label.
  const built = provenance(root, config.name)
  await withTempDir('meridian-faults-', async (tmp) => {
    log('Building the Worker with wrangler deploy --dry-run …')
    const script = await buildScript(root, tmp)
    const fleet = await startFleet(root, FLEET)
    const modes: ModeResult[] = []
    try {
      // On a shared machine another session's test run takes most of both cores and turns every
      // figure into noise: wait for a quiet moment before each mode, within a budget for the run.
      let quietBudgetMs = config.quietWaitS * 1000
      for (const mode of config.modes) {
        const waited = await waitForQuiet(quietBudgetMs, cpus().length)
        if (waited > 1_000) log(`  (waited ${(waited / 1000).toFixed(1)} s for other processes to go quiet)`)
        quietBudgetMs = Math.max(0, quietBudgetMs - waited)
        modes.push(await runMode(mode, config, script, fleet))
      }
    } finally {
      fleet.stop()
    }

    const date = new Date().toISOString()
    const resultsDir = join(root, 'bench/results')
    mkdirSync(resultsDir, { recursive: true })
    const base = `${date.slice(0, 10)}-${config.name}`
    const chart = `bench/results/${base}.svg`
    const result: FaultsResult = {
      ...built,
      date,
      config,
      timeline: TIMELINE,
      gatewaySettings: { ...scaledSettings(config.timeScale), ...config.overrides },
      client: CLIENT_CF,
      fleet: FLEET.map((p) => ({ id: p.id, region: p.region.name, latencyMs: p.latencyMs, pricing: p.pricing })),
      chart,
      modes,
      verdicts: verdicts(modes, config),
    }
    writeFileSync(
      join(root, chart),
      renderChart({
        title: 'Meridian: share of first attempts per provider under faults',
        subtitle: `${config.rate} req/s, client in ${CLIENT_CF.city}; faults hit ${TIMELINE.find((p) => p.fault)?.fault?.provider ?? '?'} (shaded); run ${date.slice(0, 16).replace('T', ' ')}, time scale ${config.timeScale}`,
        providers: FLEET.map((p) => ({ id: p.id, name: p.region.name })),
        panels: modes.map((m) => ({ mode: m.mode, bins: m.bins, phases: m.phaseWindows, cronRuns: m.cronRuns })),
        timeScale: config.timeScale,
        totalS: timelineSeconds(TIMELINE),
      }),
    )
    const report = renderReport(result)
    console.log(`\n${report}\n`)
    writeFileSync(join(resultsDir, `${base}.json`), `${JSON.stringify(result, null, 2)}\n`)
    log(`Wrote bench/results/${base}.json and ${chart}`)
    if (config.readme) {
      const readmePath = join(root, 'bench/README.md')
      writeFileSync(readmePath, withReportInReadme(readFileSync(readmePath, 'utf8'), report, FAULTS_README_MARKERS))
      log(`Updated the results in ${readmePath}`)
    }
  })
}

runMain(main)

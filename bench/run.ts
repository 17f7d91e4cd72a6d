/// <reference types="node" />
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runMain, withTempDir } from './cli'
import { buildBundle } from './bundle'
import { checkTarget } from './check'
import { benchConfig, type BenchConfig } from './config'
import { autocannonStep, pacedStep, type StepResult } from './load'
import { cpuSnapshot, foreignCores, processCpuMs, waitForQuiet } from './machine'
import { BUSY_CORES, judgedLoads, renderReport, verdicts, withOverheads, withReportInReadme, type BenchResult, type Mode, type Step } from './report'
import { provenance } from './provenance'
import { memoryOf } from './runtime'
import { stallThresholdMs, summariseStalls, type Timed } from './stalls'
import { startStack, type Target } from './targets'

/**
 * `npm run bench`: builds the Worker as deployed, starts upstream, pass-through Worker and gateway
 * on loopback, checks every target answers correctly, then measures each target at each load in
 * turn (targets interleaved per load, so drift hits all of them alike) and reports.
 * Flags and their environment fallbacks: bench/config.ts; what the numbers mean: bench/README.md.
 */

const root = fileURLToPath(new URL('..', import.meta.url))
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const log = (line: string) => process.stderr.write(`${line}\n`)

function summary(step: Step): string {
  const r = step.result
  const ms = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(2))
  const errors = r.non2xx + r.timeouts + r.failed + r.skipped
  const ttfb = r.ttfbMs ? ` ttfb p50 ${ms(r.ttfbMs.p50)}` : ''
  const load = `${step.load === 'max' ? 'max' : `${step.load}/s`}${step.round > 1 ? ` round ${step.round}` : ''}`
  const busy = step.foreignCores >= BUSY_CORES ? ` (other processes used ${step.foreignCores.toFixed(2)} cores)` : ''
  const cpu = step.runtimeCpuMsPerOk === null ? '' : `, runtime CPU ${step.runtimeCpuMsPerOk.toFixed(2)} ms/req`
  const late = step.stalls ? `, ${step.stalls.late} over ${step.stalls.thresholdMs} ms in ${step.stalls.runs} runs` : ''
  return `  ${step.mode} ${load} ${step.target}: ${r.throughput.toFixed(0)} req/s, p50 ${ms(r.latencyMs?.p50)} p90 ${ms(r.latencyMs?.p90)} p99 ${ms(r.latencyMs?.p99)}${ttfb}${cpu}${late}, errors ${errors}${busy}`
}

/** What is left of the run's --quiet-wait budget, in ms. */
let quietBudgetMs = 0

async function measure(target: Target, mode: Mode, load: number | 'max', config: BenchConfig, round = 1): Promise<Step> {
  if (quietBudgetMs > 0) {
    const waited = await waitForQuiet(quietBudgetMs, cpus().length)
    quietBudgetMs -= Math.max(0, waited - 500)
    if (waited > 1_000) log(`  (waited ${(waited / 1000).toFixed(1)} s for other processes to go quiet)`)
  }
  const stream = mode === 'stream'
  const { durationS, timeoutMs, maxInFlight } = config
  let result: StepResult
  let driver: Step['driver']
  // JSON answers at a fixed rate, timed one by one: the late ones, in runs, show where a p99 comes from.
  const answered: Timed[] | null = stream || load === 'max' ? null : []
  const before = cpuSnapshot()
  const runtimeBefore = processCpuMs(target.pids)
  if (load === 'max') {
    driver = 'autocannon'
    result = await autocannonStep(target, { connections: config.connections, durationS, timeoutMs })
  } else if (config.rateDriver === 'autocannon' && !stream) {
    driver = 'autocannon'
    result = await autocannonStep(target, { connections: config.connections, durationS, timeoutMs, overallRate: load })
  } else {
    driver = 'paced'
    const onSettled = answered ? (settled: Timed & { outcome: string }) => void (settled.outcome === 'ok' && answered.push(settled)) : undefined
    result = await pacedStep(target, { rate: load, durationS, stream, timeoutMs, maxInFlight, onSettled })
  }
  const runtimeCpuMsPerOk = target.pids.length === 0 ? null : (processCpuMs(target.pids) - runtimeBefore) / Math.max(1, result.ok)
  const stalls = answered && driver === 'paced' ? summariseStalls(answered, stallThresholdMs(config.upstream.latencyMs)) : null
  const step: Step = { mode, load, driver, target: target.name, round, result, foreignCores: foreignCores(before, cpuSnapshot(), cpus().length), runtimeCpuMsPerOk, stalls }
  log(summary(step))
  // An overloaded step leaves queued work (and waitUntil settlements) behind: let it drain.
  await sleep(result.skipped + result.timeouts > 0 || load === 'max' ? 2_000 : 500)
  return step
}

async function warmUp(targets: Target[], stream: boolean, config: BenchConfig): Promise<void> {
  if (config.warmupS <= 0) return
  for (const target of targets) {
    await pacedStep(target, { rate: 100, durationS: config.warmupS, stream, timeoutMs: config.timeoutMs, maxInFlight: config.maxInFlight })
  }
}

async function main(): Promise<void> {
  const config = benchConfig(process.argv.slice(2), process.env)
  const steps = (config.rates.length + (config.connections > 0 ? 1 : 0) + config.streamRates.length + (config.rounds - 1) * judgedLoads(config).length) * 4
  log(`Meridian bench "${config.name}": ${steps} steps of ${config.durationS} s (about ${Math.ceil((steps * (config.durationS + 1) + 8 * config.warmupS + 20) / 60)} min)`)

  quietBudgetMs = config.quietWaitS * 1000
  await withTempDir('meridian-bench-', async (tmp) => {
    // What is measured is the source as built now: a later edit must not change the run's label.
    const built = provenance(root, config.name)
    log('Building the Worker with wrangler deploy --dry-run …')
    const bundle = await buildBundle(root, tmp)
    log('Starting upstream, pass-through Worker and gateway under Miniflare …')
    const stack = await startStack(root, config, bundle.scriptPath)
    try {
      for (const target of stack.targets) await checkTarget(target, config.upstream.chunks)
      log('Every target answers 200 with well-formed JSON and SSE.')

      const measured: Step[] = []
      await warmUp(stack.targets, false, config)
      for (const rate of config.rates) for (const target of stack.targets) measured.push(await measure(target, 'json', rate, config))
      if (config.connections > 0) for (const target of stack.targets) measured.push(await measure(target, 'json', 'max', config))
      await warmUp(stack.targets, true, config)
      for (const rate of config.streamRates) for (const target of stack.targets) measured.push(await measure(target, 'stream', rate, config))
      // The judged loads again, so that a verdict is the median of rounds rather than one noisy step.
      for (let round = 2; round <= config.rounds; round++) {
        for (const { mode, load } of judgedLoads(config)) for (const target of stack.targets) measured.push(await measure(target, mode, load, config, round))
      }

      const pidsOf = (name: Target['name']) => stack.targets.find((target) => target.name === name)?.pids ?? []
      const withDeltas = withOverheads(measured)
      const result: BenchResult = {
        ...built,
        config,
        bundle,
        startups: stack.startups,
        memory: { passthrough: memoryOf(pidsOf('passthrough')), meridian: memoryOf(pidsOf('meridian-quota')) },
        steps: withDeltas,
        verdicts: verdicts(withDeltas, bundle, config),
      }
      const report = renderReport(result)
      console.log(`\n${report}\n`)

      const resultsDir = join(root, 'bench/results')
      mkdirSync(resultsDir, { recursive: true })
      const file = join(resultsDir, `${result.date.slice(0, 10)}-${config.name}.json`)
      writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
      log(`Wrote ${file}`)
      if (config.readme) {
        const readmePath = join(root, 'bench/README.md')
        writeFileSync(readmePath, withReportInReadme(readFileSync(readmePath, 'utf8'), report))
        log(`Updated the results in ${readmePath}`)
      }
    } finally {
      await stack.stop()
    }
  })
}

runMain(main)

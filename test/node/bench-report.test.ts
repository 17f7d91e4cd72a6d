import { describe, expect, it } from 'vitest'
import type { Bundle } from '../../bench/bundle'
import { benchConfig } from '../../bench/config'
import type { StepResult } from '../../bench/load'
import { judgedLoads, renderReport, verdicts, withOverheads, type Mode, type Step } from '../../bench/report'
import type { TargetName } from '../../bench/targets'

/**
 * The bench's verdicts: each round is judged against the baselines measured in that round, and a
 * verdict is the median of the rounds, so one noisy step cannot decide it.
 */

const config = benchConfig(['--rates', '300', '--stream-rates', '100', '--rounds', '3'], {})
const bundle: Bundle = {
  scriptPath: 'index.js',
  deployed: { bytes: 600 * 1024, gzipBytes: 150 * 1024 },
  minified: { bytes: 600 * 1024, gzipBytes: 150 * 1024 },
  buildMs: 1_000,
}

function result(p50: number, p99: number, throughput = 300, ttfbP50?: number): StepResult {
  const percentiles = (mid: number, tail: number) => ({ p50: mid, p90: tail, p99: tail, mean: mid, max: tail, samples: 3000 })
  return {
    elapsedS: 10,
    sent: throughput * 10,
    ok: throughput * 10,
    non2xx: 0,
    timeouts: 0,
    failed: 0,
    skipped: 0,
    throughput,
    latencyMs: percentiles(p50, p99),
    ttfbMs: ttfbP50 === undefined ? null : percentiles(ttfbP50, ttfbP50),
  }
}

function step(mode: Mode, load: number | 'max', target: TargetName, round: number, stepResult: StepResult): Step {
  return { mode, load, driver: 'paced', target, round, result: stepResult, foreignCores: 0, runtimeCpuMsPerOk: null, stalls: null }
}

/** A round at 300 req/s: direct 10 ms, pass-through 1 ms more, Meridian `extra` ms more than direct at p50 (p99 alike). */
function round300(round: number, extra: number, extraP99 = extra): Step[] {
  return [
    step('json', 300, 'direct', round, result(10, 12)),
    step('json', 300, 'passthrough', round, result(11, 13)),
    step('json', 300, 'meridian-open', round, result(10 + extra, 12 + extraP99)),
    step('json', 300, 'meridian-quota', round, result(10 + extra, 12 + extraP99)),
  ]
}

describe('bench verdicts', () => {
  it('judges the loads the targets are about', () => {
    expect(judgedLoads(config)).toEqual([
      { mode: 'json', load: 300 },
      { mode: 'json', load: 'max' },
      { mode: 'stream', load: 100 },
    ])
    expect(judgedLoads({ rates: [100], connections: 0, streamRates: [] })).toEqual([])
  })

  it('takes the median of the rounds, each against its own baselines', () => {
    // Floor multiples 1.2×, 9× (a stall in one round), 1.4×: the median passes, the mean would not.
    const steps = withOverheads([...round300(1, 1.2), ...round300(2, 9), ...round300(3, 1.4)])
    const [overhead] = verdicts(steps, bundle, config)
    expect(overhead?.met).toBe(true)
    expect(overhead?.measured).toContain('1.40× median (rounds: 1.20×, 9.00×, 1.40×) at p50')
  })

  it('fails a target when most rounds miss it', () => {
    const steps = withOverheads([...round300(1, 1.2, 3), ...round300(2, 2), ...round300(3, 1.7, 5)])
    const [overhead] = verdicts(steps, bundle, config)
    expect(overhead?.met).toBe(false)
    expect(overhead?.measured).toContain('1.70× median')
    expect(overhead?.measured).toContain('3.00× median (rounds: 3.00×, 2.00×, 5.00×) at p99')
  })

  it('judges saturation and streaming TTFB by their medians too', () => {
    const saturation = (round: number, meridian: number) => [
      step('json', 'max', 'passthrough', round, result(20, 40, 2_000)),
      step('json', 'max', 'meridian-quota', round, result(40, 80, meridian)),
    ]
    const stream = (round: number, extraTtfb: number) => [
      step('stream', 100, 'direct', round, result(110, 112, 100, 10)),
      step('stream', 100, 'passthrough', round, result(111, 113, 100, 12)),
      step('stream', 100, 'meridian-quota', round, result(113, 115, 100, 12 + extraTtfb)),
    ]
    const steps = withOverheads([...saturation(1, 1_500), ...saturation(2, 600), ...saturation(3, 1_420), ...stream(1, 0.5), ...stream(2, 3), ...stream(3, 0.8)])
    const [, throughput, ttfb, size] = verdicts(steps, bundle, config)
    expect(throughput).toMatchObject({ met: true, measured: expect.stringContaining('71% median (rounds: 75%, 30%, 71%)') })
    expect(ttfb).toMatchObject({ met: true, measured: '+0.80 ms median (rounds: +0.50 ms, +3.00 ms, +0.80 ms)' })
    expect(size).toMatchObject({ met: true })
  })

  it('misses a round whose floor multiple means nothing (the pass-through no slower than direct) when Meridian added time, and meets it when it added none', () => {
    // p99: direct 12, pass-through 11 (noise), Meridian 17: the multiple would be −5×.
    const noisy = (round: number, meridianP99: number) => [
      step('json', 300, 'direct', round, result(10, 12)),
      step('json', 300, 'passthrough', round, result(11, 11)),
      step('json', 300, 'meridian-quota', round, result(11.2, meridianP99)),
    ]
    expect(verdicts(withOverheads(noisy(1, 17)), bundle, { ...config, rounds: 1 })[0]).toMatchObject({ met: false, measured: '1.20× at p50; n/a× at p99' })
    expect(verdicts(withOverheads(noisy(1, 11.5)), bundle, { ...config, rounds: 1 })[0]).toMatchObject({ met: true, measured: '1.20× at p50; 0.00× at p99' })
  })

  it('misses a round whose Meridian step erred or answered nothing, and never leaves it out of the median', () => {
    const erring = { ...result(11.2, 13.2, 30), ok: 300, non2xx: 2_700 }
    const silent = { ...result(0, 0, 0), ok: 0, failed: 3_000, latencyMs: null }
    const withMeridian = (round: number, meridian: StepResult) => [...round300(round, 1.2).filter((s) => s.target !== 'meridian-quota'), step('json', 300, 'meridian-quota', round, meridian)]
    expect(verdicts(withOverheads(withMeridian(1, erring)), bundle, { ...config, rounds: 1 })[0]?.met).toBe(false)
    const crashed = verdicts(withOverheads([...round300(1, 1.2), ...withMeridian(2, silent), ...round300(3, 1.4)]), bundle, config)[0]
    expect(crashed).toMatchObject({ met: false, measured: expect.stringContaining('(rounds: 1.20×, n/a×, 1.40×)') })
    // Within a thousandth of the requests, errors do not decide.
    expect(verdicts(withOverheads(withMeridian(1, { ...result(11.2, 13.2), non2xx: 2 })), bundle, { ...config, rounds: 1 })[0]?.met).toBe(true)
  })

  it('misses saturation where the pass-through answered nothing or Meridian erred, and TTFB where the stream step erred', () => {
    const saturation = (pass: StepResult, meridian: StepResult) =>
      verdicts(withOverheads([step('json', 'max', 'passthrough', 1, pass), step('json', 'max', 'meridian-quota', 1, meridian)]), bundle, { ...config, rounds: 1 })[1]
    expect(saturation({ ...result(0, 0, 0), ok: 0, failed: 5_000, latencyMs: null }, result(40, 80, 500))).toMatchObject({ met: false, measured: expect.stringContaining('n/a%') })
    expect(saturation(result(20, 40, 2_000), { ...result(40, 80, 1_800), non2xx: 5_000 })?.met).toBe(false)
    const stream = withOverheads([
      step('stream', 100, 'direct', 1, result(110, 112, 100, 10)),
      step('stream', 100, 'passthrough', 1, result(111, 113, 100, 12)),
      step('stream', 100, 'meridian-quota', 1, { ...result(113, 115, 100, 12.5), failed: 400 }),
    ])
    expect(verdicts(stream, bundle, { ...config, rounds: 1 })[2]?.met).toBe(false)
  })

  it('reports one round as its figure alone', () => {
    const [overhead] = verdicts(withOverheads(round300(1, 1.2)), bundle, { ...config, rounds: 1 })
    expect(overhead?.measured).toBe('1.20× at p50; 1.20× at p99')
  })
})

describe('bench report table', () => {
  it('prints no floor multiple where the pass-through was no slower than direct', () => {
    const steps = withOverheads([
      step('json', 300, 'direct', 1, result(10, 20)),
      // p50 1 ms over direct; p99 below direct's, where a multiple of the floor means nothing.
      step('json', 300, 'passthrough', 1, result(11, 19)),
      step('json', 300, 'meridian-quota', 1, result(12, 25)),
    ])
    const memory = { peakRssBytes: 0, rssBytes: 0 }
    const text = renderReport({
      name: 'test',
      date: '2026-11-23T00:00:00Z',
      machine: { node: 'v20', cpus: 2, cpuModel: 'test', platform: 'linux-x64' },
      source: null,
      versions: {},
      config,
      bundle,
      startups: [],
      memory: { passthrough: memory, meridian: memory },
      steps,
      verdicts: verdicts(steps, bundle, config),
    })
    const row = text.split('\n').find((line) => line.startsWith('| json | 300/s | meridian-quota |'))
    expect(row).toContain('| 2.00 / n/a |')
  })
})

describe('bench settings', () => {
  it('runs the Durable Objects in the gateway\'s process unless told to run them apart', () => {
    expect(config.objects).toBe('together')
    expect(benchConfig(['--objects', 'apart'], {}).objects).toBe('apart')
    expect(benchConfig([], { BENCH_OBJECTS: 'apart' }).objects).toBe('apart')
    expect(() => benchConfig(['--objects', 'elsewhere'], {})).toThrow('--objects must be "together" or "apart"')
  })
})

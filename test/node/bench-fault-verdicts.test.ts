import { describe, expect, it } from 'vitest'
import { phaseMetrics, WINDOW_S, type PhaseWindow } from '../../bench/faults/analyse'
import { faultsConfig } from '../../bench/faults/config'
import type { RequestRecord } from '../../bench/faults/records'
import { JUDGED_RECOVERIES, RECOVERY_GOAL_S, verdicts, type ModeResult } from '../../bench/faults/report'
import { TIMELINE } from '../../bench/faults/timeline'

/**
 * The fault bench's verdicts never call a target met that was not measured: a phase that got no
 * answers misses the first-attempt target, and recovery is the provider's traffic coming back,
 * not one timed probe.
 */

const RATE = 100

/** One mode's result from what each request's first attempt was (null: no answer), time-boxed by phase. */
function modeFrom(firstOf: (secondsIntoPhase: number, phase: number) => string | null, silentFromS = Number.POSITIVE_INFINITY): ModeResult {
  let start = 0
  const windows: PhaseWindow[] = TIMELINE.map((phase) => {
    const window = { name: phase.name, fault: phase.fault, start, end: start + phase.seconds }
    start += phase.seconds
    return window
  })
  const records: RequestRecord[] = []
  for (let i = 0; i < start * RATE; i++) {
    const t = i / RATE
    const phase = windows.findIndex((w) => t >= w.start && t < w.end)
    const first = t >= silentFromS ? null : firstOf(t - windows[phase]!.start, phase)
    const ok = first !== null
    records.push({
      t, ok, outcome: ok ? 'ok' : 'failed', status: ok ? 200 : null, latencyMs: 100, tried: first ? [first] : [], first, served: first,
      attempts: ok ? 1 : null, cost: ok ? 0.0001 : null, headersAgree: ok ? true : null, beliefs: null, detail: ok ? null : 'failed: socket hang up',
    })
  }
  return { mode: 'nearest-healthy', phases: phaseMetrics(records, windows, 5, []), phaseWindows: windows } as unknown as ModeResult
}

const config = { ...faultsConfig(['--time-scale', '1'], {}), graceS: 5 }
const faulty = (phase: number) => TIMELINE[phase]!.fault?.provider

describe('fault bench verdicts', () => {
  it('misses the first-attempt target when a judged fault’s phase got no answers (the gateway died after the outage)', () => {
    const outageEnds = TIMELINE[0]!.seconds + TIMELINE[1]!.seconds
    const result = modeFrom((_, phase) => (faulty(phase) === 'eu-fra' || phase === 0 ? 'us-iad' : 'eu-fra'), outageEnds)
    const share = verdicts([result], config)[1]
    expect(share?.measured).toContain('429 storm –')
    expect(share?.met).toBe(false)
  })

  it('calls recovery noticed only when the provider’s traffic comes back, not at one timed probe', () => {
    const baseline = 'eu-fra'
    // Every fault drives all traffic to us-iad; after it, one probe goes back 2 s in, and then: traffic stays away, or returns.
    const run = (returns: boolean) =>
      modeFrom((s, phase) => {
        if (phase === 0) return baseline
        if (TIMELINE[phase]!.fault !== null) return 'us-iad'
        if (Math.abs(s - 2) < 0.005) return baseline
        return returns && s > 3 ? baseline : 'us-iad'
      })
    expect(verdicts([run(false)], config)[2]?.met).toBe(false)
    expect(verdicts([run(true)], config)[2]?.met).toBe(true)
  })

  it('never reports traffic restored before the first request that went back to the provider', () => {
    // Each fault drives traffic away; 20 s into the phase after it, all of it returns at once.
    const result = modeFrom((s, phase) => (phase === 0 || (TIMELINE[phase]!.fault === null && s >= 20) ? 'eu-fra' : 'us-iad'))
    const after = result.phases.find((p) => p.phase === 'after outage')!
    expect(after.recoverS).toBeCloseTo(20, 5)
    expect(after.restoredS!).toBeGreaterThanOrEqual(after.recoverS!)
    expect(verdicts([result], config)[2]).toMatchObject({ met: true })
    expect(verdicts([result], config)[2]?.measured).not.toContain('not within the phase')
  })

  it('never shows a missed success rate rounded up to the goal', () => {
    let seen = 0
    const result = modeFrom((_, phase) => {
      if (TIMELINE[phase]!.name !== 'outage') return 'us-iad'
      seen++
      return seen === 100 || seen === 200 || seen === 300 || seen === 400 || seen === 500 ? null : 'us-iad' // 5 of 4,000 fail: 99.875%
    })
    const success = verdicts([result], config)[0]!
    expect(success.met).toBe(false)
    expect(success.measured).toMatch(/^99\.87% /)
  })

  it('gives every phase after a fault room for the recovery goal and its window, at the quick scale too', () => {
    const quick = faultsConfig(['--quick'], {})
    for (const [, after] of JUDGED_RECOVERIES) {
      const phase = TIMELINE.find((p) => p.name === after)!
      expect(phase.seconds).toBeGreaterThanOrEqual(RECOVERY_GOAL_S + WINDOW_S / quick.timeScale)
    }
  })
})

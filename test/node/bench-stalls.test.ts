import { describe, expect, it } from 'vitest'
import { samplingGaps, stalls, stallThresholdMs, summariseStalls, type CpuProfile } from '../../bench/stalls'

/**
 * `bench:profile --stalls`: a tail latency is explained as moments when requests waited together
 * (runs of late requests in send order) and moments the sampler could not see the isolate's thread.
 */

const request = (sentAt: number, latencyMs: number) => ({ sentAt, settledAt: sentAt + latencyMs })

describe('stalls', () => {
  it('groups consecutive late requests into one run, worst first, timed from the first request sent', () => {
    const requests = [
      request(1_000, 12),
      request(1_003, 80),
      request(1_006, 77),
      request(1_010, 70),
      request(1_013, 13),
      request(1_500, 140),
      request(1_503, 12),
    ]
    expect(stalls(requests, 50)).toEqual([
      { atMs: 500, requests: 1, worstMs: 140 },
      { atMs: 3, requests: 3, worstMs: 80 },
    ])
  })

  it('orders requests by when they were sent, not by when they settled', () => {
    const requests = [request(20, 60), request(10, 90), request(30, 5)]
    expect(stalls(requests, 50)).toEqual([{ atMs: 0, requests: 2, worstMs: 90 }])
  })

  it('finds nothing when every request is in time, or there are none', () => {
    expect(stalls([request(0, 10), request(5, 49)], 50)).toEqual([])
    expect(stalls([], 50)).toEqual([])
  })
})

describe('summariseStalls', () => {
  it('counts the late answers, their runs and the worst, against a threshold 40 ms past the upstream’s latency', () => {
    const threshold = stallThresholdMs(10)
    expect(threshold).toBe(50)
    const requests = [request(0, 12), request(3, 60), request(6, 12), request(9, 90), request(12, 70), request(15, 11)]
    expect(summariseStalls(requests, threshold)).toEqual({ thresholdMs: 50, late: 3, runs: 2, worstMs: 90 })
    expect(summariseStalls([request(0, 12)], threshold)).toEqual({ thresholdMs: 50, late: 0, runs: 0, worstMs: null })
  })
})

describe('samplingGaps', () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: 0 }, children: [2, 3] },
      { id: 2, callFrame: { functionName: 'settle', url: 'index.js', lineNumber: 10 } },
      { id: 3, callFrame: { functionName: '', url: 'index.js', lineNumber: 20 } },
      { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: 0 } },
    ],
    samples: [2, 3, 2, 3, 2],
    timeDeltas: [200, 35_000, 200, 12_000, 9_000],
  }

  it('lists gaps longer than the threshold, longest first, with the functions either side', () => {
    expect(samplingGaps(profile, 10)).toEqual([
      { atMs: 35.2, gapMs: 35, before: 'settle', after: '(anonymous)' },
      { atMs: 47.4, gapMs: 12, before: 'settle', after: '(anonymous)' },
    ])
  })

  it('does not count the wait before the first sample, nor a gap from idle to idle (no work was waiting)', () => {
    expect(samplingGaps({ ...profile, timeDeltas: [50_000, 200, 200, 200, 200] }, 10)).toEqual([])
    const idle: CpuProfile = { ...profile, samples: [4, 4, 2], timeDeltas: [200, 30_000, 20_000] }
    expect(samplingGaps(idle, 10)).toEqual([{ atMs: 50.2, gapMs: 20, before: '(idle)', after: 'settle' }])
  })
})

/// <reference types="node" />
import autocannon from 'autocannon'
import type { EventEmitter } from 'node:events'
import { Agent, request } from 'node:http'
import { requestBody } from './check'
import { percentiles, type Percentiles } from './stats'
import type { Target } from './targets'

/**
 * The two load generators. `pacedStep` is open loop: requests leave at evenly spaced times
 * whatever the answers do, which is what "N req/s" means; it also sees the first body byte, so it
 * measures streaming TTFB. `autocannonStep` is closed loop (each connection sends its next request
 * when the last one is answered): with no rate it finds the saturation throughput.
 */

export interface StepResult {
  /** Wall time from the first request sent to the last one settled. */
  elapsedS: number
  sent: number
  ok: number
  non2xx: number
  timeouts: number
  /** Connection errors, and streams that ended without `data: [DONE]`. */
  failed: number
  /** Due but not sent because `maxInFlight` requests were already waiting (the target fell behind). */
  skipped: number
  /** 2xx responses per second of `elapsedS`. */
  throughput: number
  /** Request sent until its last body byte, 2xx only. */
  latencyMs: Percentiles | null
  /** Request sent until its first body byte, 2xx only. */
  ttfbMs: Percentiles | null
}

export interface PacedOptions {
  rate: number
  durationS: number
  stream: boolean
  timeoutMs: number
  maxInFlight: number
}

const DONE = 'data: [DONE]\n\n'

export async function pacedStep(target: Target, options: PacedOptions): Promise<StepResult> {
  const url = new URL(target.url)
  const body = requestBody(options.stream)
  const headers = { ...target.headers, 'content-length': String(body.length) }
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY })
  const latencies: number[] = []
  const ttfbs: number[] = []
  const counts = { ok: 0, non2xx: 0, timeouts: 0, failed: 0, skipped: 0 }

  const one = () =>
    new Promise<void>((resolve) => {
      const sentAt = performance.now()
      let firstByteAt: number | null = null
      let tail = ''
      let settled = false
      const settle = (outcome: 'ok' | 'non2xx' | 'timeouts' | 'failed') => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        counts[outcome]++
        if (outcome === 'ok') {
          latencies.push(performance.now() - sentAt)
          if (firstByteAt !== null) ttfbs.push(firstByteAt - sentAt)
        }
        resolve()
      }
      const req = request(
        { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers },
        (res) => {
          res.on('data', (data: Buffer) => {
            firstByteAt ??= performance.now()
            if (options.stream) tail = (tail + data.toString('latin1')).slice(-DONE.length)
          })
          res.on('end', () => {
            const status = res.statusCode ?? 0
            if (status < 200 || status > 299) settle('non2xx')
            else settle(options.stream && tail !== DONE ? 'failed' : 'ok')
          })
          res.on('error', () => settle('failed'))
        },
      )
      const timer = setTimeout(() => {
        settle('timeouts')
        req.destroy()
      }, options.timeoutMs)
      req.on('error', () => settle('failed'))
      req.end(body)
    })

  const total = Math.max(1, Math.round(options.rate * options.durationS))
  const intervalMs = 1000 / options.rate
  const start = performance.now()
  let sent = 0
  let inFlight = 0
  await new Promise<void>((allDone) => {
    const finishIfDone = () => {
      if (sent >= total && inFlight === 0) allDone()
    }
    const tick = () => {
      // Catch up on every request that is due: a late timer must not lower the rate.
      const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1)
      while (sent < due) {
        sent++
        if (inFlight >= options.maxInFlight) {
          counts.skipped++
          continue
        }
        inFlight++
        void one().then(() => {
          inFlight--
          finishIfDone()
        })
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()))
      else finishIfDone()
    }
    tick()
  })
  const elapsedS = (performance.now() - start) / 1000
  agent.destroy()
  return {
    elapsedS,
    sent: sent - counts.skipped,
    ...counts,
    throughput: counts.ok / elapsedS,
    latencyMs: percentiles(latencies),
    ttfbMs: options.stream ? percentiles(ttfbs) : null,
  }
}

export interface AutocannonOptions {
  connections: number
  durationS: number
  timeoutMs: number
  /** Caps the rate; autocannon spends each connection's share at the start of every second. */
  overallRate?: number
}

/** Non-streaming only: autocannon cannot see the first byte. */
export async function autocannonStep(target: Target, options: AutocannonOptions): Promise<StepResult> {
  const latencies: number[] = []
  const connections = options.overallRate ? Math.min(options.connections, options.overallRate) : options.connections
  const started = performance.now()
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        method: 'POST',
        headers: target.headers,
        body: requestBody(false).toString('utf8'),
        connections,
        duration: options.durationS,
        timeout: options.timeoutMs / 1000,
        ...(options.overallRate ? { overallRate: options.overallRate, ignoreCoordinatedOmission: true } : {}),
      },
      (error: unknown, done: autocannon.Result) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(done)),
    )
    // The typings leave out the client autocannon passes first; its own histogram keeps whole
    // milliseconds only, so the samples are taken here.
    const events: EventEmitter = instance
    events.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status <= 299) latencies.push(ms)
    })
  })
  const elapsedS = Math.max(result.duration, (performance.now() - started) / 1000)
  const ok = result['2xx']
  return {
    elapsedS,
    sent: result.requests.sent,
    ok,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    failed: result.errors - result.timeouts,
    skipped: 0,
    throughput: ok / result.duration,
    latencyMs: percentiles(latencies),
    ttfbMs: null,
  }
}

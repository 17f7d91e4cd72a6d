/// <reference types="node" />
import autocannon from 'autocannon'
import type { EventEmitter } from 'node:events'
import { Agent, request, type IncomingHttpHeaders } from 'node:http'
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

/** One settled request, for callers that look at every answer (the fault bench). */
export interface SettledRequest {
  /** `performance.now()` when the request was sent, and when it settled. */
  sentAt: number
  settledAt: number
  outcome: 'ok' | 'non2xx' | 'timeouts' | 'failed'
  status: number | null
  headers: IncomingHttpHeaders | null
  body: Buffer
  /** The client-side error of a `failed` request (e.g. "socket hang up"). */
  error: string | null
}

export interface PacedOptions {
  rate: number
  durationS: number
  stream: boolean
  timeoutMs: number
  maxInFlight: number
  /** Called for every settled request with its whole body; without it bodies are not kept. */
  onSettled?: (settled: SettledRequest) => void
  /** Called with the `performance.now()` at which a due request was skipped (see `maxInFlight`). */
  onSkipped?: (at: number) => void
}

const DONE = 'data: [DONE]\n\n'
const IDLE_SOCKET_MS = 4_000

export async function pacedStep(target: Pick<Target, 'url' | 'headers'>, options: PacedOptions): Promise<StepResult> {
  const url = new URL(target.url)
  const body = requestBody(options.stream)
  const headers = { ...target.headers, 'content-length': String(body.length) }
  // workerd closes a keep-alive connection after 5 s idle; a request written onto one just as it
  // closes fails with ECONNRESET ("socket hang up") through no fault of the target. Idle sockets are
  // dropped on our side first (the agent's `timeout` destroys only free sockets).
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, timeout: IDLE_SOCKET_MS })
  const latencies: number[] = []
  const ttfbs: number[] = []
  const counts = { ok: 0, non2xx: 0, timeouts: 0, failed: 0, skipped: 0 }

  const one = () =>
    new Promise<void>((resolve) => {
      const sentAt = performance.now()
      let firstByteAt: number | null = null
      let tail = ''
      let settled = false
      let response: { status: number; headers: IncomingHttpHeaders } | null = null
      const parts: Buffer[] = []
      const settle = (outcome: 'ok' | 'non2xx' | 'timeouts' | 'failed', error: string | null = null) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        counts[outcome]++
        const settledAt = performance.now()
        if (outcome === 'ok') {
          latencies.push(settledAt - sentAt)
          if (firstByteAt !== null) ttfbs.push(firstByteAt - sentAt)
        }
        options.onSettled?.({
          sentAt,
          settledAt,
          outcome,
          status: response?.status ?? null,
          headers: response?.headers ?? null,
          body: Buffer.concat(parts),
          error,
        })
        resolve()
      }
      const req = request(
        { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers },
        (res) => {
          response = { status: res.statusCode ?? 0, headers: res.headers }
          res.on('data', (data: Buffer) => {
            firstByteAt ??= performance.now()
            if (options.onSettled) parts.push(data)
            if (options.stream) tail = (tail + data.toString('latin1')).slice(-DONE.length)
          })
          res.on('end', () => {
            const status = res.statusCode ?? 0
            if (status < 200 || status > 299) settle('non2xx')
            else settle(options.stream && tail !== DONE ? 'failed' : 'ok')
          })
          res.on('error', (error) => settle('failed', error.message))
        },
      )
      const timer = setTimeout(() => {
        settle('timeouts')
        req.destroy()
      }, options.timeoutMs)
      req.on('error', (error) => {
        const code = 'code' in error ? String(error.code) : ''
        const after = (performance.now() - sentAt).toFixed(0)
        settle('failed', `${code} ${error.message} after ${after} ms on a ${req.reusedSocket ? 'reused' : 'new'} connection`.trim())
      })
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
          options.onSkipped?.(performance.now())
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

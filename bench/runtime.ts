/// <reference types="node" />
import { readdirSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { Miniflare, type MiniflareOptions } from 'miniflare'

/**
 * A Worker under Miniflare's API (one workerd process per instance, so each target's memory is
 * its own), with its startup time and the workerd processes it spawned.
 */

export interface RunningWorker {
  url: string
  /** `new Miniflare()` until its socket listens. */
  readyMs: number
  /** `new Miniflare()` until the first 200 from `probePath`: process start + first isolate + first request. */
  firstOkMs: number
  /** workerd processes this instance added under the bench process. */
  pids: number[]
  dispose(): Promise<void>
}

interface ProcStat {
  pid: number
  ppid: number
  comm: string
}

function procStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command is in parentheses and may contain spaces; the fields after it are positional.
    const close = stat.lastIndexOf(')')
    const comm = stat.slice(stat.indexOf('(') + 1, close)
    const ppid = Number(stat.slice(close + 2).split(' ')[1])
    return { pid, ppid, comm }
  } catch {
    return null
  }
}

/** workerd processes descending from this process (Miniflare may put a shell or node in between). */
export function workerdDescendants(): number[] {
  const stats = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => procStat(Number(entry)))
    .filter((stat): stat is ProcStat => stat !== null)
  const parentOf = new Map(stats.map((stat) => [stat.pid, stat.ppid]))
  const descends = (pid: number): boolean => {
    for (let p = parentOf.get(pid); p !== undefined && p > 1; p = parentOf.get(p)) if (p === process.pid) return true
    return false
  }
  return stats.filter((stat) => stat.comm.startsWith('workerd') && descends(stat.pid)).map((stat) => stat.pid)
}

export interface Memory {
  /** Peak resident set size over the process's life (VmHWM), summed over the instance's processes. */
  peakRssBytes: number
  rssBytes: number
}

function statusField(pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match?.[1] ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

export function memoryOf(pids: number[]): Memory {
  return {
    peakRssBytes: pids.reduce((sum, pid) => sum + statusField(pid, 'VmHWM'), 0),
    rssBytes: pids.reduce((sum, pid) => sum + statusField(pid, 'VmRSS'), 0),
  }
}

/** workerd logs every client that hangs up mid-response (autocannon does at the end of each step)
 *  with a stack trace; those lines are expected under load and dropped, everything else is shown. */
const HANG_UP = /Broken pipe|Connection reset by peer|disconnected: worker_do_not_log/

function forwardRuntimeOutput(stdout: Readable, stderr: Readable): void {
  for (const stream of [stdout, stderr]) {
    let skipStack = false
    createInterface({ input: stream }).on('line', (line) => {
      if (HANG_UP.test(line)) {
        skipStack = true
        return
      }
      if (skipStack && line.startsWith('stack:')) return
      skipStack = false
      process.stderr.write(`[workerd] ${line}\n`)
    })
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export async function startWorker(options: MiniflareOptions, probePath: string, startTimeoutMs = 60_000): Promise<RunningWorker> {
  const before = new Set(workerdDescendants())
  const started = performance.now()
  const mf = new Miniflare({ ...options, host: '127.0.0.1', port: 0, handleRuntimeStdio: forwardRuntimeOutput })
  const ready = await mf.ready
  const readyMs = performance.now() - started
  const url = ready.origin
  let firstOkMs: number | null = null
  while (firstOkMs === null) {
    const ok = await fetch(url + probePath, { signal: AbortSignal.timeout(5_000) })
      .then(async (res) => {
        await res.arrayBuffer()
        return res.status === 200
      })
      .catch(() => false)
    if (ok) firstOkMs = performance.now() - started
    else if (performance.now() - started > startTimeoutMs) {
      await mf.dispose()
      throw new Error(`${url}${probePath} did not answer 200 within ${startTimeoutMs / 1000} s`)
    } else await sleep(20)
  }
  const pids = workerdDescendants().filter((pid) => !before.has(pid))
  return { url, readyMs, firstOkMs, pids, dispose: () => mf.dispose() }
}

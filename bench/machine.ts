/// <reference types="node" />
import { readdirSync, readFileSync } from 'node:fs'

/**
 * How busy the machine was with work that is not the bench's. On a shared 2-core machine another
 * process's test run shows up as latency; each step records the cores it took, so a noisy step is
 * visible instead of being mistaken for the gateway.
 */

export interface CpuSnapshot {
  /** Busy and total jiffies of the whole machine (/proc/stat). */
  busy: number
  total: number
  /** Jiffies used by this process and everything it started (upstream, workerd). */
  own: number
}

function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const fields = line.trim().split(/\s+/).slice(1).map(Number)
  const total = fields.reduce((sum, value) => sum + value, 0)
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  return { busy: total - idle, total }
}

function ownJiffies(): number {
  const parentOf = new Map<number, number>()
  const used = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // After the command: state, ppid, …, utime and stime are fields 14 and 15 of the full line.
      parentOf.set(Number(entry), Number(fields[1]))
      used.set(Number(entry), Number(fields[11]) + Number(fields[12]))
    } catch {
      // the process ended while we looked
    }
  }
  let sum = 0
  for (const [pid, jiffies] of used) {
    for (let p: number | undefined = pid; p !== undefined && p > 0; p = parentOf.get(p)) {
      if (p === process.pid) {
        sum += jiffies
        break
      }
    }
  }
  return sum
}

export function cpuSnapshot(): CpuSnapshot {
  return { ...machineJiffies(), own: ownJiffies() }
}

/** Average cores used by other processes between two snapshots (0 on a quiet machine). */
export function foreignCores(before: CpuSnapshot, after: CpuSnapshot, cores: number): number {
  const total = after.total - before.total
  if (total <= 0) return 0
  const foreign = after.busy - before.busy - (after.own - before.own)
  return Math.max(0, (foreign / total) * cores)
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Waits, in half-second looks, until other processes use less than `threshold` cores, or until
 * `budgetMs` is spent. Returns the time it waited.
 */
export async function waitForQuiet(budgetMs: number, cores: number, threshold = 0.2): Promise<number> {
  const started = performance.now()
  for (;;) {
    const before = cpuSnapshot()
    await sleep(500)
    if (foreignCores(before, cpuSnapshot(), cores) < threshold) break
    if (performance.now() - started >= budgetMs) break
  }
  return performance.now() - started
}

/** CPU time (ms) the given processes have used so far: user + system, all their threads. */
export function processCpuMs(pids: number[]): number {
  const ticksPerSecond = 100 // USER_HZ: /proc reports CPU time in these ticks on Linux
  let ticks = 0
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // the process ended
    }
  }
  return (ticks * 1000) / ticksPerSecond
}

/**
 * Bytes the given processes have had written to disk so far (`write_bytes` of /proc/<pid>/io:
 * what reached the block layer, the key objects' SQLite WAL and checkpoints under Miniflare).
 */
export function processWrittenBytes(pids: number[]): number {
  let bytes = 0
  for (const pid of pids) {
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8')
      bytes += Number(/^write_bytes: (\d+)$/m.exec(io)?.[1] ?? 0)
    } catch {
      // the process ended
    }
  }
  return bytes
}

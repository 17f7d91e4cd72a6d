/// <reference types="node" />
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { runMain, withTempDir } from './cli'
import { buildScript } from './bundle'
import { benchConfig } from './config'
import { autocannonStep, pacedStep } from './load'
import { processCpuMs, processWrittenBytes } from './machine'
import { samplingGaps, stalls, summariseStalls, type CpuProfile, type ProfileNode, type Timed } from './stalls'
import { perfShares } from './perf-shares'
import { PUMPS, startStack, TARGET_NAMES, type Pump, type TargetName } from './targets'

/**
 * `npm run bench:profile`: where the gateway's time goes. Starts the same stack as `npm run bench`
 * with the gateway's V8 inspector open, drives one load against one target, records a CPU profile
 * of the gateway's isolate (Worker and Durable Objects share it under Miniflare) and prints self
 * time per source file and per function, and total time (with callees) per `src/` function, mapped
 * to `src/` through esbuild's `// src/…` markers in the bundle. `--perf yes` also runs `perf record`
 * on the workerd process for the native side (SQLite, RPC, HTTP) that a V8 profile shows only as
 * "(program)"; `--perf-sort sym` reports it by symbol instead of by library, and `--perf-sort
 * shares` gives workerd's milliseconds per request (all its threads) by kind of work
 * (./perf-shares). `--stalls <ms>` (with `--rate`) reports where a tail latency comes from
 * (./stalls): runs of requests answered later than that, and the longest gaps in the V8 sampler's
 * record of the isolate's thread.
 *
 *   npm run bench:profile -- --target meridian-quota --connections 64 --duration 10
 *   npm run bench:profile -- --stream yes --rate 100
 *   npm run bench:profile -- --target meridian-quota --rate 300 --duration 30 --stalls 50
 */

const root = fileURLToPath(new URL('..', import.meta.url))
const log = (line: string) => process.stderr.write(`${line}\n`)

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/** A minimal Chrome DevTools Protocol client: send a method, await its result. */
async function inspector(port: number): Promise<{ call: (method: string, params?: object) => Promise<unknown>; close: () => void }> {
  const listing = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string; title?: string }[]
  const target = listing[0]
  if (!target) throw new Error(`no inspector target on port ${port}`)
  log(`Profiling inspector target "${target.title ?? target.webSocketDebuggerUrl}"`)
  const socket = new WebSocket(target.webSocketDebuggerUrl)
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
  let nextId = 1
  const pending = new Map<number, (result: unknown) => void>()
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as { id?: number; result?: unknown; error?: unknown }
    if (message.id !== undefined) pending.get(message.id)?.(message.error ? Promise.reject(new Error(JSON.stringify(message.error))) : message.result)
  })
  return {
    call: (method, params = {}) =>
      new Promise((resolve) => {
        const id = nextId++
        pending.set(id, resolve)
        socket.send(JSON.stringify({ id, method, params }))
      }),
    close: () => socket.close(),
  }
}

/** Bundle line → the `src/…` module esbuild placed there. */
function moduleOfLine(bundle: string): (line: number) => string {
  const starts: { line: number; module: string }[] = []
  bundle.split('\n').forEach((text, index) => {
    const match = /^\/\/ (src\/\S+|node_modules\/\S+)$/.exec(text)
    if (match?.[1]) starts.push({ line: index, module: match[1].replace(/^node_modules\/(@[^/]+\/[^/]+|[^/]+)\/.*$/, 'node_modules/$1') })
  })
  return (line) => {
    let found = '(bundle)'
    for (const start of starts) {
      if (start.line > line) break
      found = start.module
    }
    return found
  }
}

function summarise(profile: CpuProfile, bundle: string, callersOf: string | undefined): string {
  const moduleOf = moduleOfLine(bundle)
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, index) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)))
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0)
  const byModule = new Map<string, number>()
  const byFunction = new Map<string, number>()
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0
    if (us === 0) continue
    const { functionName, url, lineNumber } = node.callFrame
    const where = url === '' ? functionName : url.endsWith('.js') && !url.startsWith('node:') && !url.includes('cloudflare') ? moduleOf(lineNumber) : url
    byModule.set(where, (byModule.get(where) ?? 0) + us)
    const name = `${functionName || '(anonymous)'}  ${where}:${lineNumber + 1}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + us)
  }
  const table = (entries: Map<string, number>, limit: number) =>
    [...entries.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => `  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`)
      .join('\n')
  const parentOf = new Map<number, ProfileNode>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node)
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const callers = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (!node || callersOf === undefined || node.callFrame.functionName !== callersOf) continue
    const chain: string[] = []
    for (let parent = parentOf.get(id); parent && chain.length < 4; parent = parentOf.get(parent.id)) {
      const { functionName, url, lineNumber } = parent.callFrame
      chain.push(`${functionName || '(anonymous)'}@${url.endsWith('.js') ? moduleOf(lineNumber) : url}`)
    }
    const key = chain.join(' < ')
    callers.set(key, (callers.get(key) ?? 0) + us)
  }
  const callerTable = callersOf !== undefined ? `\n\nCallers of ${callersOf}:\n${table(callers, 15)}` : ''
  // Inclusive time of the gateway's own functions: which of them the library and runtime time is spent for.
  const inclusive = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const seen = new Set<string>()
    for (let node = byId.get(id); node; node = parentOf.get(node.id)) {
      const { functionName, url, lineNumber } = node.callFrame
      const where = url.endsWith('.js') && !url.includes('cloudflare') ? moduleOf(lineNumber) : ''
      if (!where.startsWith('src/')) continue
      const name = `${functionName || '(anonymous)'}  ${where}:${lineNumber + 1}`
      if (seen.has(name)) continue
      seen.add(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + us)
    }
  }
  return `Self time by module (${(total / 1e6).toFixed(1)} s sampled):\n${table(byModule, 25)}\n\nSelf time by function:\n${table(byFunction, 40)}\n\nTotal time (self and callees) by src/ function:\n${table(inclusive, 40)}${callerTable}`
}

/** A node of V8's sampling heap profile (HeapProfiler.stopSampling). */
interface AllocationNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: AllocationNode[]
}

/**
 * Bytes allocated per request (sampled, so estimates) by module and by function, and by the
 * innermost `src/` function on each stack: what makes the garbage the collector then has to walk.
 */
function allocationReport(head: AllocationNode, bundle: string, requests: number): string {
  const moduleOf = moduleOfLine(bundle)
  const place = (frame: AllocationNode['callFrame']) =>
    frame.url.endsWith('.js') && !frame.url.includes('cloudflare') ? moduleOf(frame.lineNumber) : frame.url || frame.functionName
  const byModule = new Map<string, number>()
  const byFunction = new Map<string, number>()
  const bySrcCaller = new Map<string, number>()
  let total = 0
  const add = (map: Map<string, number>, key: string, bytes: number) => map.set(key, (map.get(key) ?? 0) + bytes)
  const walk = (node: AllocationNode, nearestSrc: string) => {
    const where = place(node.callFrame)
    const name = `${node.callFrame.functionName || '(anonymous)'}  ${where}:${node.callFrame.lineNumber + 1}`
    const src = where.startsWith('src/') ? name : nearestSrc
    if (node.selfSize > 0) {
      total += node.selfSize
      add(byModule, where, node.selfSize)
      add(byFunction, name, node.selfSize)
      add(bySrcCaller, src, node.selfSize)
    }
    for (const child of node.children) walk(child, src)
  }
  walk(head, '(outside src/)')
  const perRequest = (bytes: number) => `${(bytes / Math.max(1, requests) / 1024).toFixed(2).padStart(7)} KiB`
  const table = (entries: Map<string, number>, limit: number) =>
    [...entries.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, bytes]) => `  ${((100 * bytes) / Math.max(1, total)).toFixed(1).padStart(5)}%  ${perRequest(bytes)}  ${name}`)
      .join('\n')
  return (
    `\nAllocated (sampled): ${perRequest(total).trim()} per request.\nBy module:\n${table(byModule, 15)}\n\nBy function:\n${table(byFunction, 25)}` +
    `\n\nBy the innermost src/ function on the stack:\n${table(bySrcCaller, 25)}`
  )
}

function stallReport(answered: Timed[], thresholdMs: number): string {
  const { late, runs } = summariseStalls(answered, thresholdMs)
  const lines = stalls(answered, thresholdMs)
    .slice(0, 10)
    .map((run) => `  at ${(run.atMs / 1000).toFixed(2).padStart(6)} s: ${String(run.requests).padStart(4)} requests, worst ${run.worstMs.toFixed(0)} ms`)
  return `Stalls: ${late} of ${answered.length} requests answered after ${thresholdMs} ms, in ${runs} runs (worst first):\n${lines.join('\n')}\n`
}

/** Gaps of 10 ms or more: 50 samples missed at the 200 µs interval. */
const GAP_MS = 10

function gapReport(profile: CpuProfile): string {
  const gaps = samplingGaps(profile, GAP_MS)
  const missed = gaps.reduce((sum, gap) => sum + gap.gapMs, 0)
  const lines = gaps.slice(0, 10).map((gap) => `  at ${(gap.atMs / 1000).toFixed(2).padStart(6)} s: ${gap.gapMs.toFixed(1).padStart(6)} ms, between ${gap.before} and ${gap.after}`)
  return `\nSampling gaps over ${GAP_MS} ms (the isolate's thread could not be sampled): ${gaps.length}, ${missed.toFixed(0)} ms in all (longest first):\n${lines.join('\n')}`
}

/** perf's sampling rate: samples per second of each thread. */
const PERF_HZ = 499

/**
 * Records the target's processes with `perf` while the load runs; the returned function waits for
 * the recording and reports it. `--perf-sort shares` (./perf-shares) needs whole stacks, so it
 * records DWARF call graphs; any other sort is perf's own report of self time.
 */
async function perfRecord(pids: number[], seconds: number, out: string, sort: string): Promise<(requests: number) => Promise<string>> {
  const shares = sort === 'shares'
  const callGraph = shares ? ['--call-graph', 'dwarf,16384'] : ['-g']
  const child = spawn('perf', ['record', '-F', String(PERF_HZ), ...callGraph, '-o', out, '-p', pids.join(','), '--', 'sleep', String(seconds)], { stdio: 'ignore' })
  return async (requests) => {
    await new Promise((resolve) => child.once('close', resolve))
    if (shares) {
      const script = await output('perf', ['script', '-i', out, '-F', 'comm,ip,sym,dso', '--no-inline'])
      const lines = perfShares(script, 1000 / PERF_HZ, requests).map(({ share, msPerRequest }) => `${msPerRequest.toFixed(3).padStart(8)} ms  ${share}`)
      return `perf (workerd, all its threads), time per request by kind of work:\n${lines.join('\n')}`
    }
    const text = await output('perf', ['report', '-i', out, '--no-children', '--sort', sort, '--stdio', '-g', 'none', '--percent-limit', '0.7'])
    const rows = text.split('\n').filter((line) => /^\s+\d/.test(line))
    return `perf (workerd, native and JIT, self):\n${rows.join('\n')}`
  }
}

/** A command's standard output (its errors are dropped). */
async function output(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] })
  let text = ''
  child.stdout.on('data', (data: Buffer) => (text += data.toString('utf8')))
  await new Promise((resolve) => child.once('close', resolve))
  return text
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      target: { type: 'string', default: 'meridian-quota' },
      stream: { type: 'string', default: 'no' },
      rate: { type: 'string', default: '0' },
      connections: { type: 'string', default: '64' },
      duration: { type: 'string', default: '10' },
      perf: { type: 'string', default: 'no' },
      'perf-sort': { type: 'string', default: 'comm,dso' },
      v8: { type: 'string', default: 'yes' },
      pump: { type: 'string', default: 'native' },
      out: { type: 'string' },
      callers: { type: 'string' },
      stalls: { type: 'string' },
      alloc: { type: 'string', default: 'no' },
    },
  })
  const targetName = values.target as TargetName
  const pump = values.pump as Pump
  if (!PUMPS.includes(pump)) throw new Error(`--pump must be one of ${PUMPS.join(', ')}`)
  if (!TARGET_NAMES.includes(targetName)) throw new Error(`--target must be one of ${TARGET_NAMES.join(', ')}`)
  const stream = values.stream === 'yes'
  const rate = Number(values.rate)
  const durationS = Number(values.duration)
  if (stream && rate <= 0) throw new Error('--stream yes needs --rate (the paced driver sees first bytes)')
  const stallMs = values.stalls === undefined ? null : Number(values.stalls)
  if (stallMs !== null && (!(stallMs > 0) || rate <= 0)) throw new Error('--stalls takes a latency in ms, and needs --rate (the paced driver times each request)')
  // The bench's environment settings (BENCH_OBJECT_STORAGE, say) apply here too.
  const config = benchConfig([], process.env)
  await withTempDir('meridian-profile-', async (tmp) => {
    log('Building the Worker with wrangler deploy --dry-run …')
    const script = await buildScript(root, tmp, true)
    const inspectorPort = await freePort()
    const stack = await startStack(root, config, script, { inspectorPort }, pump)
    try {
      const target = stack.targets.find((candidate) => candidate.name === targetName)
      if (!target) throw new Error(`no target ${targetName}`)
      const answered: Timed[] = []
      const onSettled = stallMs === null ? undefined : (settled: Timed & { outcome: string }) => void (settled.outcome === 'ok' && answered.push(settled))
      const load = () =>
        rate > 0
          ? pacedStep(target, { rate, durationS, stream, timeoutMs: config.timeoutMs, maxInFlight: config.maxInFlight, onSettled })
          : autocannonStep(target, { connections: Number(values.connections), durationS, timeoutMs: config.timeoutMs })
      log('Warming up …')
      await pacedStep(target, { rate: 100, durationS: 2, stream, timeoutMs: config.timeoutMs, maxInFlight: config.maxInFlight })
      // --v8 no: the runtime's CPU per request without the profiler's own cost.
      const alloc = values.alloc === 'yes'
      const cdp = values.v8 === 'yes' || alloc ? await inspector(inspectorPort) : null
      // Every 8 KiB on average, collected objects included (by default V8 reports only what is still alive).
      if (alloc) await cdp?.call('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
      if (values.v8 === 'yes') {
        await cdp?.call('Profiler.enable')
        await cdp?.call('Profiler.setSamplingInterval', { interval: 200 })
        await cdp?.call('Profiler.start')
      }
      const perfDone = values.perf === 'yes' ? await perfRecord(target.pids, durationS, join(tmp, 'perf.data'), values['perf-sort'] ?? 'comm,dso') : null
      const objectPids = target.objectPids ?? []
      const cpuBefore = processCpuMs(target.pids)
      const objectsCpuBefore = processCpuMs(objectPids)
      const writtenBefore = processWrittenBytes(target.pids)
      const result = await load()
      const cpuMs = processCpuMs(target.pids) - cpuBefore
      const objectsCpuMs = processCpuMs(objectPids) - objectsCpuBefore
      const written = processWrittenBytes(target.pids) - writtenBefore
      const latency = result.latencyMs
      const perRequest = (total: number) => total / Math.max(1, result.ok)
      log(
        `${targetName}: ${result.throughput.toFixed(0)} ok req/s, p50 ${latency?.p50.toFixed(2)} ms, p99 ${latency?.p99.toFixed(2)} ms, ` +
          (result.ttfbMs ? `TTFB p50 ${result.ttfbMs.p50.toFixed(2)} ms, ` : '') +
          `runtime CPU ${perRequest(cpuMs).toFixed(3)} ms per request${cdp ? ' (profilers running)' : ''}` +
          (objectPids.length > 0 ? ` (the objects' own process: ${perRequest(objectsCpuMs).toFixed(3)})` : '') +
          `, ${(perRequest(written) / 1024).toFixed(1)} KiB written to disk per request`,
      )
      if (stallMs !== null) console.log(stallReport(answered, stallMs))
      if (cdp && alloc) {
        const { profile } = (await cdp.call('HeapProfiler.stopSampling')) as { profile: { head: AllocationNode } }
        console.log(allocationReport(profile.head, readFileSync(script, 'utf8'), result.ok))
      }
      if (cdp && values.v8 === 'yes') {
        const { profile } = (await cdp.call('Profiler.stop')) as { profile: CpuProfile }
        if (values.out) writeFileSync(values.out, JSON.stringify(profile))
        console.log(summarise(profile, readFileSync(script, 'utf8'), values.callers))
        if (stallMs !== null) console.log(gapReport(profile))
      }
      cdp?.close()
      if (perfDone) console.log(`\n${await perfDone(result.ok)}`)
    } finally {
      await stack.stop()
    }
  })
}

runMain(main)

/// <reference types="node" />
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { unstable_getMiniflareWorkerOptions } from 'wrangler'
import { BENCH_PROVIDER_KEY_ENV, benchCatalog, createKey, installCatalog, QUOTA_KEY_POLICY } from './gateway'
import { startWorker, type RunningWorker } from './runtime'
import type { BenchConfig } from './config'

/**
 * Everything a run measures, started on loopback: the upstream (its own Node process, so it never
 * shares an event loop with the load generator), the pass-through Worker and the gateway (each in
 * its own Miniflare instance), and the four targets pointing at them.
 */

export const TARGET_NAMES = ['direct', 'passthrough', 'meridian-open', 'meridian-quota'] as const
export type TargetName = (typeof TARGET_NAMES)[number]

export interface Target {
  name: TargetName
  /** The full chat completions URL. */
  url: string
  headers: Record<string, string>
  /** The runtime processes behind this target (none for direct), the objects' own included. */
  pids: number[]
  /** Of those, the process running the gateway's Durable Objects when they run apart (BenchConfig.objects). */
  objectPids?: number[]
}

export interface WorkerStartup {
  worker: 'passthrough' | 'meridian'
  readyMs: number
  firstOkMs: number
}

export interface Stack {
  targets: Target[]
  startups: WorkerStartup[]
  stop(): Promise<void>
}

/**
 * The gateway's bindings (KV, Durable Objects with SQLite, compatibility date and flags) as
 * wrangler.toml declares them, translated by wrangler itself, so the bench follows the config.
 */
export function wranglerWorkerOptions(root: string) {
  return unstable_getMiniflareWorkerOptions(join(root, 'wrangler.toml')).workerOptions
}

/**
 * Starts a bench script in its own Node process and waits for the one JSON line it prints once
 * listening (`{"port":N}` for the upstream); `check` narrows that line or throws.
 */
export async function spawnReporting<T>(root: string, script: string, env: Record<string, string>, check: (line: unknown) => T): Promise<{ ready: T; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, script)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  })
  const stdout = child.stdout
  if (!stdout) throw new Error(`${script} has no stdout`)
  const lines = createInterface({ input: stdout })
  const ready = await new Promise<T>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited (code ${code}) before listening`)))
    lines.once('line', (line) => {
      try {
        resolve(check(JSON.parse(line)))
      } catch {
        reject(new Error(`${script} said "${line}" instead of its ready line`))
      }
    })
  })
  child.removeAllListeners('exit')
  return { ready, child }
}

async function startUpstreamProcess(root: string, config: BenchConfig): Promise<{ port: number; child: ChildProcess }> {
  const env = {
    UPSTREAM_PORT: '0',
    UPSTREAM_LATENCY_MS: String(config.upstream.latencyMs),
    UPSTREAM_CHUNKS: String(config.upstream.chunks),
    UPSTREAM_CHUNK_DELAY_MS: String(config.upstream.chunkDelayMs),
  }
  const { ready, child } = await spawnReporting(root, 'bench/upstream.ts', env, (line) => {
    if (typeof line === 'object' && line !== null && 'port' in line && typeof line.port === 'number') return line.port
    throw new Error('no port')
  })
  return { port: ready, child }
}

export interface Gateway {
  worker: RunningWorker
  /** The second workerd process holding the Durable Objects (GatewayOptions.objects `apart`), or null. */
  objects: RunningWorker | null
  adminToken: string
}

export interface GatewayOptions {
  /** String settings such as ROUTING_MODE, on top of wrangler.toml's. */
  vars?: Record<string, string>
  /** Lets `GET /cdn-cgi/handler/scheduled` run the cron handler (Miniflare never fires crons itself). */
  triggerHandlers?: boolean
  /** Opens the V8 inspector on this port (bench/profile.ts). */
  inspectorPort?: number
  /** A directory for the Durable Objects' storage, instead of Miniflare's temporary one (BenchConfig.objectStorage). */
  objectsDir?: string
  /** Where the Durable Objects run (BenchConfig.objects); `together` when absent. */
  objects?: BenchConfig['objects']
}

/** The Worker name the objects' own Miniflare instance registers under, when they run apart. */
const OBJECTS_WORKER = 'meridian-objects'

/**
 * The gateway bundle under Miniflare with wrangler.toml's bindings, a fresh admin token and the
 * bench provider secret.
 */
export async function startGateway(root: string, gatewayScript: string, options: GatewayOptions = {}): Promise<Gateway> {
  const fromConfig = wranglerWorkerOptions(root)
  const adminToken = randomBytes(24).toString('base64url')
  const common = {
    ...fromConfig,
    modules: true,
    scriptPath: gatewayScript,
    // Module names are paths relative to this; the bundle lives in a temporary directory.
    modulesRoot: dirname(gatewayScript),
    bindings: { ...fromConfig.bindings, ...options.vars, ADMIN_TOKEN: adminToken, [BENCH_PROVIDER_KEY_ENV]: 'bench' },
    ...(options.objectsDir ? { durableObjectsPersist: options.objectsDir } : {}),
  }
  // What only the gateway's own instance gets (never the objects' one, when they run apart).
  const gatewayOnly = {
    ...(options.triggerHandlers ? { unsafeTriggerHandlers: true } : {}),
    ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
  }
  if (options.objects !== 'apart') {
    const worker = await startWorker({ ...common, ...gatewayOnly }, '/health')
    return { worker, objects: null, adminToken }
  }
  // Apart: the same bundle runs twice. The objects' instance defines the classes and keeps their
  // storage; the gateway's binds them by script name, which Miniflare resolves through a shared dev
  // registry to a proxy that forwards each call to the other process over workerd's RPC. Each
  // instance keeps its own KV, so the health snapshot the HealthDO publishes is not the one the
  // gateway reads: it routes on its own isolate's view (with the bench's one endpoint, the same).
  const registry = mkdtempSync(join(tmpdir(), 'meridian-bench-registry-'))
  const started = await startWorker({ ...common, name: OBJECTS_WORKER, unsafeDevRegistryPath: registry }, '/health').catch((error: unknown) => {
    rmSync(registry, { recursive: true, force: true })
    throw error
  })
  const objects: RunningWorker = {
    ...started,
    dispose: async () => {
      await started.dispose()
      rmSync(registry, { recursive: true, force: true })
    },
  }
  try {
    const elsewhere = (className: string) => ({ className, scriptName: OBJECTS_WORKER, useSQLite: true })
    const worker = await startWorker(
      {
        ...common,
        name: 'meridian',
        unsafeDevRegistryPath: registry,
        durableObjects: { KEYS: elsewhere('KeyDO'), HEALTH: elsewhere('HealthDO') },
        ...gatewayOnly,
      },
      '/health',
    )
    return { worker, objects, adminToken }
  } catch (error) {
    await objects.dispose()
    throw error
  }
}

/** How the pass-through Worker hands the body on (bench/passthrough-worker.js); `native` is the floor. */
export const PUMPS = ['native', 'js', 'identity', 'hold', 'rewrite'] as const
export type Pump = (typeof PUMPS)[number]

export async function startStack(
  root: string,
  config: BenchConfig,
  gatewayScript: string,
  gatewayOptions: GatewayOptions = {},
  pump: Pump = 'native',
): Promise<Stack> {
  const workers: RunningWorker[] = []
  const cleanups: (() => void)[] = []
  const upstream = await startUpstreamProcess(root, config)
  const stop = async () => {
    for (const worker of workers) await worker.dispose()
    upstream.child.kill('SIGTERM')
    for (const cleanup of cleanups) cleanup()
  }
  try {
    const upstreamBase = `http://127.0.0.1:${upstream.port}/v1`
    const fromConfig = wranglerWorkerOptions(root)
    const { compatibilityDate, compatibilityFlags } = fromConfig

    const passthrough = await startWorker(
      {
        modules: true,
        scriptPath: join(root, 'bench/passthrough-worker.js'),
        compatibilityDate,
        compatibilityFlags,
        bindings: { UPSTREAM_URL: `${upstreamBase}/chat/completions`, UPSTREAM_KEY: 'bench', PUMP: pump },
      },
      '/',
    )
    workers.push(passthrough)

    const objectsDir = config.objectStorage === 'tmpfs' ? mkdtempSync('/dev/shm/meridian-bench-objects-') : undefined
    if (objectsDir) cleanups.push(() => rmSync(objectsDir, { recursive: true, force: true }))
    const { worker: meridian, objects, adminToken } = await startGateway(root, gatewayScript, {
      ...gatewayOptions,
      objects: config.objects,
      ...(objectsDir ? { objectsDir } : {}),
    })
    // The gateway goes first: its proxies to the objects must not outlive them.
    workers.push(meridian)
    if (objects) workers.push(objects)
    const objectPids = objects?.pids ?? []
    const meridianPids = [...meridian.pids, ...objectPids]
    await installCatalog(meridian.url, adminToken, benchCatalog(upstreamBase))
    const openKey = await createKey(meridian.url, adminToken, { name: 'bench-open' })
    const quotaKey = await createKey(meridian.url, adminToken, { name: 'bench-quota', ...QUOTA_KEY_POLICY })

    const json = { 'content-type': 'application/json' }
    const targets: Target[] = [
      { name: 'direct', url: `${upstreamBase}/chat/completions`, headers: { ...json, authorization: 'Bearer bench' }, pids: [] },
      { name: 'passthrough', url: `${passthrough.url}/v1/chat/completions`, headers: json, pids: passthrough.pids },
      { name: 'meridian-open', url: `${meridian.url}/v1/chat/completions`, headers: { ...json, authorization: `Bearer ${openKey}` }, pids: meridianPids, objectPids },
      { name: 'meridian-quota', url: `${meridian.url}/v1/chat/completions`, headers: { ...json, authorization: `Bearer ${quotaKey}` }, pids: meridianPids, objectPids },
    ]
    const startups: WorkerStartup[] = [
      { worker: 'passthrough', readyMs: passthrough.readyMs, firstOkMs: passthrough.firstOkMs },
      { worker: 'meridian', readyMs: meridian.readyMs, firstOkMs: meridian.firstOkMs },
    ]
    return { targets, startups, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

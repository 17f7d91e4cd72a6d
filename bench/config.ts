/// <reference types="node" />
import { parseArgs } from 'node:util'

/**
 * What one `npm run bench` does. Every knob is a CLI flag with an environment fallback, e.g.
 * `npm run bench -- --duration 2 --name quick` or `BENCH_DURATION=2 npm run bench`.
 */
export interface BenchConfig {
  /** Names the result file: bench/results/<date>-<name>.json. */
  name: string
  /** Seconds per measured step (one target at one rate). */
  durationS: number
  /** Seconds of unmeasured load per target and mode before its steps (JIT, connection pools). */
  warmupS: number
  /** Fixed request rates for non-streaming requests (req/s). */
  rates: number[]
  /** Fixed request rates for streaming requests (req/s). */
  streamRates: number[]
  /** Connections of the closed-loop saturation step (autocannon, no rate). 0 skips it. */
  connections: number
  /** Who paces the fixed-rate steps; see bench/README.md for why `paced` is the default. */
  rateDriver: 'paced' | 'autocannon'
  /** A request still unanswered after this is counted as a timeout. */
  timeoutMs: number
  /** At most this many requests in flight per step; beyond it a due request is skipped and counted. */
  maxInFlight: number
  upstream: { latencyMs: number; chunks: number; chunkDelayMs: number }
  /** Seconds, over the whole run, the bench may wait before steps for other processes to go quiet. */
  quietWaitS: number
  /** Whether this run's table replaces the one quoted in bench/README.md. */
  readme: boolean
  /** Times the judged steps (JSON at 300/s, saturation, the first stream rate) are measured; verdicts take the median. */
  rounds: number
  /**
   * Where the gateway's Durable Objects keep their SQLite files: `disk` (Miniflare's temporary
   * directory) or `tmpfs` (/dev/shm, where an fsync costs nothing). Each confirmed write is an
   * fsync on the runtime's one thread. See bench/README.md, "Latency: the admission's write, not the call".
   */
  objectStorage: 'disk' | 'tmpfs'
  /**
   * Where the gateway's Durable Objects run: `together` (in the gateway's own workerd process and
   * thread, Miniflare's default) or `apart` (in a second workerd process, reached over the runtime's
   * RPC as Miniflare's dev registry does for two `wrangler dev` sessions; on Cloudflare an object
   * runs in its own isolate, usually on another machine). See bench/README.md, "Objects apart".
   */
  objects: 'together' | 'apart'
}

const FLAGS = {
  name: { env: 'BENCH_NAME', fallback: 'local' },
  duration: { env: 'BENCH_DURATION', fallback: '10' },
  warmup: { env: 'BENCH_WARMUP', fallback: '1' },
  rates: { env: 'BENCH_RATES', fallback: '100,300,1000' },
  'stream-rates': { env: 'BENCH_STREAM_RATES', fallback: '100,300' },
  connections: { env: 'BENCH_CONNECTIONS', fallback: '64' },
  'rate-driver': { env: 'BENCH_RATE_DRIVER', fallback: 'paced' },
  timeout: { env: 'BENCH_TIMEOUT_MS', fallback: '10000' },
  'max-in-flight': { env: 'BENCH_MAX_IN_FLIGHT', fallback: '512' },
  latency: { env: 'UPSTREAM_LATENCY_MS', fallback: '10' },
  chunks: { env: 'UPSTREAM_CHUNKS', fallback: '20' },
  'chunk-delay': { env: 'UPSTREAM_CHUNK_DELAY_MS', fallback: '5' },
  'quiet-wait': { env: 'BENCH_QUIET_WAIT', fallback: '60' },
  readme: { env: 'BENCH_README', fallback: 'yes' },
  rounds: { env: 'BENCH_ROUNDS', fallback: '3' },
  'object-storage': { env: 'BENCH_OBJECT_STORAGE', fallback: 'disk' },
  objects: { env: 'BENCH_OBJECTS', fallback: 'together' },
} as const

type Flag = keyof typeof FLAGS

/** A numeric flag's value, or an error that names the flag. Shared with bench/faults/config.ts. */
export function number(flag: string, text: string, min: number): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value < min) throw new Error(`--${flag} must be a number ≥ ${min}, got "${text}"`)
  return value
}

/** `--name`: it names the result file, so one safe word. Shared with bench/faults/config.ts. */
export function fileSafeName(text: string, example: string): string {
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(text)) throw new Error(`--name must be a file-name-safe word such as "${example}"`)
  return text
}

function list(flag: Flag, text: string): number[] {
  if (text.trim() === '') return []
  return text.split(',').map((part) => number(flag, part.trim(), 1))
}

export function benchConfig(argv: string[], env: NodeJS.ProcessEnv): BenchConfig {
  const options = Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' as const }]))
  const { values } = parseArgs({ args: argv, options, strict: true })
  const read = (flag: Flag): string => {
    const given = values[flag]
    return typeof given === 'string' ? given : (env[FLAGS[flag].env] ?? FLAGS[flag].fallback)
  }
  const rateDriver = read('rate-driver')
  if (rateDriver !== 'paced' && rateDriver !== 'autocannon') throw new Error('--rate-driver must be "paced" or "autocannon"')
  const readme = read('readme')
  if (readme !== 'yes' && readme !== 'no') throw new Error('--readme must be "yes" or "no"')
  const objectStorage = read('object-storage')
  if (objectStorage !== 'disk' && objectStorage !== 'tmpfs') throw new Error('--object-storage must be "disk" or "tmpfs"')
  const objects = read('objects')
  if (objects !== 'together' && objects !== 'apart') throw new Error('--objects must be "together" or "apart"')
  return {
    name: fileSafeName(read('name'), 'local'),
    durationS: number('duration', read('duration'), 0.5),
    warmupS: number('warmup', read('warmup'), 0),
    rates: list('rates', read('rates')),
    streamRates: list('stream-rates', read('stream-rates')),
    connections: Math.floor(number('connections', read('connections'), 0)),
    rateDriver,
    timeoutMs: number('timeout', read('timeout'), 100),
    maxInFlight: Math.floor(number('max-in-flight', read('max-in-flight'), 1)),
    upstream: {
      latencyMs: Math.floor(number('latency', read('latency'), 0)),
      chunks: Math.floor(number('chunks', read('chunks'), 1)),
      chunkDelayMs: Math.floor(number('chunk-delay', read('chunk-delay'), 0)),
    },
    quietWaitS: number('quiet-wait', read('quiet-wait'), 0),
    readme: readme === 'yes',
    rounds: Math.floor(number('rounds', read('rounds'), 1)),
    objectStorage,
    objects,
  }
}

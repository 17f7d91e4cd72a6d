/// <reference types="node" />
import { parseArgs } from 'node:util'
import { fileSafeName, number } from '../config'

/**
 * What one `npm run bench:faults` does. Flags with environment fallbacks, e.g.
 * `npm run bench:faults -- --quick` or `FAULTS_TIME_SCALE=1 npm run bench:faults`.
 */

export const ROUTING_MODES = ['nearest-healthy', 'ordered', 'random'] as const
export type RoutingMode = (typeof ROUTING_MODES)[number]

export interface FaultsConfig {
  /** Names the result files: bench/results/<date>-<name>.json and .svg. */
  name: string
  /** Real seconds per virtual second of the timeline; the gateway's time settings scale alike. */
  timeScale: number
  /** Paced requests per second, open loop, for the whole timeline. */
  rate: number
  modes: RoutingMode[]
  /** Seconds after a fault begins during which first attempts to it are forgiven (the target's 5 s). Real seconds. */
  graceS: number
  timeoutMs: number
  maxInFlight: number
  /** Whether this run's table replaces the one quoted in bench/README.md. */
  readme: boolean
  /** Whether the harness fires the gateway's cron (health probes) every 60 virtual seconds, as deployed. */
  cron: boolean
  /** Seconds, over the whole run, to wait before modes for other processes to go quiet. */
  quietWaitS: number
  /** Gateway settings given with `--set NAME=VALUE`, applied over the scaled defaults. */
  overrides: Record<string, string>
  quick: boolean
}

const FLAGS = {
  name: { env: 'FAULTS_NAME', full: 'faults', quick: 'faults-quick' },
  'time-scale': { env: 'FAULTS_TIME_SCALE', full: '0.5', quick: '0.125' },
  rate: { env: 'FAULTS_RATE', full: '100', quick: '100' },
  modes: { env: 'FAULTS_MODES', full: ROUTING_MODES.join(','), quick: ROUTING_MODES.join(',') },
  // A quick run's fault phases are shorter than the target's 5 s: it forgives 1 s instead.
  grace: { env: 'FAULTS_GRACE_S', full: '5', quick: '1' },
  timeout: { env: 'FAULTS_TIMEOUT_MS', full: '10000', quick: '10000' },
  'max-in-flight': { env: 'FAULTS_MAX_IN_FLIGHT', full: '512', quick: '512' },
  readme: { env: 'FAULTS_README', full: 'yes', quick: 'no' },
  cron: { env: 'FAULTS_CRON', full: 'yes', quick: 'yes' },
  'quiet-wait': { env: 'FAULTS_QUIET_WAIT', full: '120', quick: '5' },
} as const

type Flag = keyof typeof FLAGS

export function faultsConfig(argv: string[], env: NodeJS.ProcessEnv): FaultsConfig {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    ...Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' as const }])),
    quick: { type: 'boolean' },
    set: { type: 'string', multiple: true },
  }
  const { values } = parseArgs({ args: argv, options, strict: true })
  const quick = values.quick === true || env.FAULTS_QUICK === '1'
  const read = (flag: Flag): string => {
    const given = values[flag]
    return typeof given === 'string' ? given : (env[FLAGS[flag].env] ?? FLAGS[flag][quick ? 'quick' : 'full'])
  }
  const isMode = (mode: string): mode is RoutingMode => (ROUTING_MODES as readonly string[]).includes(mode)
  const modes = read('modes')
    .split(',')
    .map((mode) => mode.trim())
    .map((mode) => {
      if (!isMode(mode)) throw new Error(`--modes takes ${ROUTING_MODES.join(', ')}; got "${mode}"`)
      return mode
    })
  const yesNo = (flag: 'readme' | 'cron'): boolean => {
    const value = read(flag)
    if (value !== 'yes' && value !== 'no') throw new Error(`--${flag} must be "yes" or "no"`)
    return value === 'yes'
  }
  return {
    name: fileSafeName(read('name'), 'faults'),
    timeScale: number('time-scale', read('time-scale'), 0.05),
    rate: number('rate', read('rate'), 1),
    modes,
    graceS: number('grace', read('grace'), 0),
    timeoutMs: number('timeout', read('timeout'), 100),
    maxInFlight: Math.floor(number('max-in-flight', read('max-in-flight'), 1)),
    readme: yesNo('readme'),
    cron: yesNo('cron'),
    quietWaitS: number('quiet-wait', read('quiet-wait'), 0),
    overrides: Object.fromEntries(
      (Array.isArray(values.set) ? values.set : []).map((pair) => {
        const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(String(pair))
        if (!match) throw new Error(`--set takes NAME=VALUE, e.g. --set CIRCUIT_OPEN_MS=5000; got "${String(pair)}"`)
        return [match[1]!, match[2]!]
      }),
    ),
    quick,
  }
}

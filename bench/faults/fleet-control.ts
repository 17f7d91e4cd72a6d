/// <reference types="node" />
import type { ChildProcess } from 'node:child_process'
import { z } from 'zod'
import { spawnReporting } from '../targets'
import type { FleetProvider, RealBehaviour } from './timeline'

/** The harness's side of the fleet process (fleet.ts): start it, drive behaviours, read counts. */

export interface ProviderCounts {
  received: number
  ok: number
  errors: number
  limited: number
}

export interface RunningFleet {
  /** Base URL (…/v1) of each provider, by id. */
  baseUrls: Record<string, string>
  /** Resolves once the fleet process has applied the behaviour. */
  set(provider: string, behaviour: RealBehaviour): Promise<void>
  reset(): Promise<void>
  counts(): Promise<Record<string, ProviderCounts>>
  stop(): void
}

const Ready = z.object({ control: z.number().int(), providers: z.record(z.string(), z.number().int()) })
const Counts = z.record(z.string(), z.object({ received: z.number(), ok: z.number(), errors: z.number(), limited: z.number() }))

export async function startFleet(root: string, providers: readonly FleetProvider[]): Promise<RunningFleet> {
  const spec = JSON.stringify(providers.map(({ id, latencyMs }) => ({ id, latencyMs })))
  const { ready, child }: { ready: z.infer<typeof Ready>; child: ChildProcess } = await spawnReporting(
    root,
    'bench/faults/fleet.ts',
    { FLEET: spec },
    (line) => Ready.parse(line),
  )
  const controlUrl = `http://127.0.0.1:${ready.control}`
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(controlUrl + path, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5_000),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`fleet ${method} ${path} answered ${res.status}: ${text}`)
    return JSON.parse(text)
  }
  return {
    baseUrls: Object.fromEntries(Object.entries(ready.providers).map(([id, port]) => [id, `http://127.0.0.1:${port}/v1`])),
    set: async (provider, behaviour) => void (await call('POST', '/behaviour', { provider, behaviour })),
    reset: async () => void (await call('POST', '/reset')),
    counts: async () => Counts.parse(await call('GET', '/counts')),
    stop: () => void child.kill('SIGTERM'),
  }
}

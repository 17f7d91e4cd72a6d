/// <reference types="node" />
import type { CatalogInput } from '../../src/catalog/schema'
import { BENCH_MODEL, BENCH_PROVIDER_KEY_ENV, createKey, installCatalog } from '../gateway'
import { startGateway } from '../targets'
import type { RoutingMode } from './config'
import { CLIENT_CF, scaledSettings, type FleetProvider } from './timeline'

/**
 * One gateway per routing mode: the real bundle under Miniflare (a fresh instance, so no health
 * carries over between modes), its time settings scaled, a catalog of one model served by the
 * three simulated providers in catalog order, and a tenant key without limits.
 */

export function fleetCatalog(providers: readonly FleetProvider[], baseUrls: Record<string, string>): CatalogInput {
  return {
    version: 'bench-faults',
    providers: providers.map((provider) => {
      const baseUrl = baseUrls[provider.id]
      if (!baseUrl) throw new Error(`the fleet did not start ${provider.id}`)
      return { id: provider.id, name: provider.name, format: 'openai', baseUrl, apiKeyEnv: BENCH_PROVIDER_KEY_ENV, region: provider.region, dataCollection: 'deny' }
    }),
    models: [
      {
        id: BENCH_MODEL,
        name: 'Bench Echo',
        contextLength: 8192,
        modalities: { input: ['text'], output: ['text'] },
        endpoints: providers.map((provider) => ({ provider: provider.id, upstreamModel: 'bench-echo', pricing: provider.pricing, maxCompletionTokens: 1024 })),
      },
    ],
  }
}

export interface FaultGateway {
  url: string
  /** Headers of every load request: the key, the route trace, and the client's location. */
  headers: Record<string, string>
  pids: number[]
  /** Runs the gateway's cron handler once, as the deployed `* * * * *` trigger would. */
  cron(): Promise<void>
  dispose(): Promise<void>
}

/**
 * Miniflare's entry Worker builds `request.cf` from the `MF-CF-Blob` request header (a JSON
 * object) when a request carries one, over plain HTTP too, so each request can say where its
 * client is. Without it `request.cf` holds Miniflare's default (no coordinates offline).
 */
export const CF_HEADER = 'mf-cf-blob'

export async function startFaultGateway(
  root: string,
  script: string,
  mode: RoutingMode,
  timeScale: number,
  providers: readonly FleetProvider[],
  baseUrls: Record<string, string>,
  overrides: Record<string, string> = {},
): Promise<FaultGateway> {
  const vars = { ROUTING_MODE: mode, ...scaledSettings(timeScale), ...overrides }
  const { worker, adminToken } = await startGateway(root, script, { vars, triggerHandlers: true })
  try {
    await installCatalog(worker.url, adminToken, fleetCatalog(providers, baseUrls))
    const key = await createKey(worker.url, adminToken, { name: `faults-${mode}` })
    return {
      url: `${worker.url}/v1/chat/completions`,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${key}`,
        'x-meridian-debug': 'route',
        [CF_HEADER]: JSON.stringify(CLIENT_CF),
      },
      pids: worker.pids,
      cron: async () => {
        const res = await fetch(`${worker.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent('* * * * *')}`, { signal: AbortSignal.timeout(30_000) })
        const text = await res.text()
        if (!res.ok) throw new Error(`the cron handler answered ${res.status}: ${text.slice(0, 300)}`)
      },
      dispose: () => worker.dispose(),
    }
  } catch (error) {
    await worker.dispose()
    throw error
  }
}

/// <reference types="node" />
import { z } from 'zod'
import type { CatalogInput } from '../src/catalog/schema'

/**
 * Configures a running gateway through its own admin API, as an operator would: a catalog whose
 * one provider is the bench upstream, and the tenant keys the load uses.
 */

export const BENCH_MODEL = 'bench/echo'
/** The Worker secret the catalog's provider names; any non-empty value makes the provider live. */
export const BENCH_PROVIDER_KEY_ENV = 'BENCH_PROVIDER_KEY'

export function benchCatalog(upstreamBaseUrl: string): CatalogInput {
  return {
    version: 'bench',
    providers: [
      {
        id: 'bench-upstream',
        name: 'Bench Upstream',
        format: 'openai',
        baseUrl: upstreamBaseUrl,
        apiKeyEnv: BENCH_PROVIDER_KEY_ENV,
        region: { name: 'loopback', lat: 0, lon: 0 },
        dataCollection: 'deny',
      },
    ],
    models: [
      {
        id: BENCH_MODEL,
        name: 'Bench Echo',
        contextLength: 8192,
        modalities: { input: ['text'], output: ['text'] },
        endpoints: [
          {
            provider: 'bench-upstream',
            upstreamModel: 'bench-echo',
            pricing: { prompt: '0.000001', completion: '0.000002' },
            maxCompletionTokens: 1024,
          },
        ],
      },
    ],
  }
}

/**
 * A key whose quota code paths all run on every request but never refuse one during a bench:
 * credit limit, request rate bucket and concurrency cap, each far above what a run can use.
 */
export const QUOTA_KEY_POLICY = {
  limit: 1_000_000,
  limit_reset: 'monthly',
  rate_limit: { requests_per_minute: 10_000_000 },
  max_concurrency: 10_000,
} as const

const CreatedKey = z.object({ key: z.string().min(1) })

async function adminCall(gateway: string, adminToken: string, method: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(gateway + path, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`)
  return JSON.parse(text)
}

export async function installCatalog(gateway: string, adminToken: string, catalog: CatalogInput): Promise<void> {
  await adminCall(gateway, adminToken, 'PUT', '/v1/admin/catalog', catalog)
}

export async function createKey(gateway: string, adminToken: string, input: Record<string, unknown>): Promise<string> {
  return CreatedKey.parse(await adminCall(gateway, adminToken, 'POST', '/v1/keys', input)).key
}

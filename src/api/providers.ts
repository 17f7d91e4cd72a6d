import { Hono } from 'hono'
import type { CatalogSnapshot } from '../catalog/snapshot'
import { currentCatalog } from '../catalog/store'
import { secretNamed, type Env } from '../env'
import type { EndpointSnapshot } from '../health/health-do'
import { publishedHealth } from '../health/snapshot'
import type { AppEnv } from './context'

/** GET /providers: the catalog's providers (never their secrets) with live health per endpoint. */
export const providers = new Hono<AppEnv>()

providers.get('/providers', async (c) => {
  const now = c.get('clock')()
  const catalog = await currentCatalog(c.env, (p) => c.executionCtx.waitUntil(p), now)
  return c.json({ data: providerViews(c.env, catalog, await publishedHealth(c.env, now)) })
})

export type ProviderView = ReturnType<typeof providerViews>[number]

/** Each provider as GET /providers (and the dashboard) shows it: whether its secret is set, and each endpoint's published health. */
export function providerViews(env: Env, catalog: CatalogSnapshot, health: Record<string, EndpointSnapshot>) {
  return catalog.document.providers.map((provider) => {
    const endpoints = catalog.document.models.flatMap((model) =>
      model.endpoints.filter((endpoint) => endpoint.provider === provider.id).map((endpoint) => `${model.id}@${endpoint.provider}`),
    )
    return {
      name: provider.name,
      slug: provider.id,
      format: provider.format,
      region: provider.region,
      // OpenRouter's are country codes: only a region that names its country has one.
      datacenters: provider.region.country ? [provider.region.country] : null,
      data_collection: provider.dataCollection,
      live: secretNamed(env, provider.apiKeyEnv) !== undefined,
      privacy_policy_url: null,
      status_page_url: null,
      headquarters: null,
      endpoints: endpoints.map((key) => {
        const stats = health[key]
        return {
          endpoint: key,
          circuit: stats?.circuit ?? 'closed',
          cooling_until: stats?.cooling_until ?? null,
          uptime_last_30m: stats?.uptime_last_30m ?? null,
          latency_last_30m: stats?.latency_last_30m ?? null,
          throughput_last_30m: stats?.throughput_last_30m ?? null,
        }
      }),
    }
  })
}

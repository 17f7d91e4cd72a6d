import { createApp } from './app'
import { currentCatalog } from './catalog/store'
import { runScheduledSync } from './catalog/sync'
import type { Env } from './env'
import { probeEndpoints } from './health/probes'
import { currentHealth } from './health/snapshot'

export { HealthDO } from './health/health-do'
export { KeyDO } from './tenancy/key-do'

const app = createApp()

/** Cron (every minute): probe idle endpoints and open circuits so recoveries are noticed without traffic. */
async function probeOnSchedule(env: Env, ctx: ExecutionContext): Promise<void> {
  const waitUntil = (promise: Promise<unknown>) => ctx.waitUntil(promise)
  const now = Date.now()
  try {
    const catalog = await currentCatalog(env, waitUntil, now)
    const health = await currentHealth(env, waitUntil, now)
    await probeEndpoints(env, catalog, health, now)
  } catch (error) {
    console.error('scheduled probes failed', error instanceof Error ? error.stack : String(error))
  }
}

export default {
  fetch: app.fetch,
  /** Cron (every minute): health probes, and the catalog sync if one is scheduled (at most hourly). */
  scheduled(controller, env, ctx) {
    ctx.waitUntil(probeOnSchedule(env, ctx))
    ctx.waitUntil(runScheduledSync(env, controller.scheduledTime).catch((error) => console.error('catalog sync failed', error)))
  },
} satisfies ExportedHandler<Env>

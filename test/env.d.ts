// Types for `env` and `exports` from 'cloudflare:workers' inside tests (what `wrangler types` would generate).
declare namespace Cloudflare {
  interface Env {
    KV: KVNamespace
    KEYS: DurableObjectNamespace<import('../src/tenancy/key-do').KeyDO>
    HEALTH: DurableObjectNamespace<import('../src/health/health-do').HealthDO>
    ADMIN_TOKEN?: string
    /** As in src/env.ts: settings and provider secrets by name, so `env` can be passed where the Worker's Env is expected. */
    [setting: string]: unknown
  }
  interface GlobalProps {
    mainModule: typeof import('../src/index')
  }
}

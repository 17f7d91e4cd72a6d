// Types for `env` and `exports` from 'cloudflare:workers' inside tests (what `wrangler types` would generate).
declare namespace Cloudflare {
  interface Env {
    KV: KVNamespace
    KEYS: DurableObjectNamespace<import('../src/tenancy/key-do').KeyDO>
    ADMIN_TOKEN?: string
  }
  interface GlobalProps {
    mainModule: typeof import('../src/index')
  }
}

import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

/**
 * Two projects: `workers` runs inside workerd (the gateway through its front door, Durable
 * Objects, KV) with upstreams faked in-process; `node` drives a running gateway with real SDKs.
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              // wrangler.toml's flag, and one the tests alone need: exports.default.scheduled()
              // (test/health/scheduled.test.ts). It is experimental, which a deployment may not name.
              compatibilityFlags: ['enable_request_signal', 'service_binding_extra_handlers'],
              bindings: {
                ADMIN_TOKEN: 'test-admin-token',
                TEST_PROVIDER_KEY: 'test-upstream-key',
                // AWS's documented example credentials, for the SigV4-signed Bedrock tests.
                TEST_BEDROCK_CREDENTIALS: 'AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
                // Equal candidates keep catalog order, so fallback tests know who is tried first.
                ROUTING_TIE_BAND_MS: '0',
              },
            },
          }),
        ],
        test: { name: 'workers', include: ['test/**/*.test.ts'], exclude: ['test/node/**'] },
      },
      {
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
})

import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CatalogSchema, type CatalogInput } from '../../src/catalog/schema'
import { compileCatalog } from '../../src/catalog/snapshot'
import { probeEndpoints } from '../../src/health/probes'
import type { HealthLookup } from '../../src/health/types'
import { testCatalog } from '../support/catalog'
import { jsonResponse } from '../support/upstream'

/** A cron probe's answer counts as traffic's would: Gemini's pause in its body, an error in a 200. */
afterEach(() => vi.restoreAllMocks())

const GEMINI = 'http://127.0.0.1:9106/v1beta'
const gemini: CatalogInput = {
  ...testCatalog,
  providers: [...testCatalog.providers, { id: 'gemini', name: 'Gemini', format: 'gemini', baseUrl: GEMINI, apiKeyEnv: 'TEST_PROVIDER_KEY', region: { name: 'gemini', lat: 0, lon: 0 }, dataCollection: 'deny' }],
  models: [{ id: 'test/gemini', name: 'test/gemini', contextLength: 1_000_000, modalities: { input: ['text'], output: ['text'] }, endpoints: [{ provider: 'gemini', upstreamModel: 'gemini-test', pricing: { prompt: '0.000001', completion: '0.000004' }, maxCompletionTokens: 65536 }] }],
}
const nothingKnown: HealthLookup = () => undefined

describe('a probe answered 429 by Gemini', () => {
  it('takes the pause its RetryInfo asks for (Gemini sends no Retry-After), as traffic does', async () => {
    const exhausted: typeof fetch = async () =>
      jsonResponse({ error: { code: 429, message: 'You exceeded your current quota.', status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '120s' }] } }, 429)
    const observations = await probeEndpoints(env, compileCatalog(CatalogSchema.parse(gemini)), nothingKnown, Date.now(), exhausted)
    expect(observations.map((o) => [o.endpoint, o.kind, o.retryAfterMs])).toEqual([['test/gemini@gemini', 'rate_limited', 120_000]])
  })
})

describe('a probe answered 200', () => {
  const only = compileCatalog(CatalogSchema.parse({ ...testCatalog, models: [testCatalog.models[2]!] }))
  const halfOpen: HealthLookup = (key) =>
    key === 'test/other@gamma' ? { circuit: 'half_open', coolingUntil: null, errorRate: 1, samples: 3, ttfbMs: null, tokensPerSecond: null, lastSeen: Date.now() - 30_000 } : undefined

  it('with an error body (OpenRouter’s shape for a provider that failed) is no success: traffic fails over from it', async () => {
    const failedRelay: typeof fetch = async () => jsonResponse({ error: { code: 502, message: 'Provider returned error' } })
    const observations = await probeEndpoints(env, only, halfOpen, Date.now(), failedRelay)
    expect(observations.map((o) => [o.endpoint, o.kind])).toEqual([['test/other@gamma', 'server_error']])
  })

  it('with an answer is a success', async () => {
    const answered: typeof fetch = async () => jsonResponse({ id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, finish_reason: 'length' }] })
    const observations = await probeEndpoints(env, only, halfOpen, Date.now(), answered)
    expect(observations.map((o) => [o.endpoint, o.kind])).toEqual([['test/other@gamma', 'success']])
  })
})

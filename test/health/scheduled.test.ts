import { env, exports } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { healthObject } from '../../src/health/health-do'
import { ALPHA, BETA } from '../support/catalog'
import { installCatalog } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

// workers-types declares only fetch/connect on the default export's Fetcher; the scheduled handler is
// callable because vitest.config.ts sets the service_binding_extra_handlers flag (for the tests only).
interface ScheduledHandler {
  scheduled(options: { cron?: string; scheduledTime?: Date }): Promise<{ outcome: string; noRetry: boolean }>
}
const worker = exports.default as unknown as ScheduledHandler

afterEach(() => {
  vi.restoreAllMocks()
})

describe('the cron trigger', () => {
  it('probes the live endpoints of the installed catalog and reports them to the HealthDO', async () => {
    await installCatalog()
    const upstream = fakeUpstreams({
      [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'p' })),
      [BETA]: () => jsonResponse({ error: { message: 'overloaded' } }, 529),
      // gamma has no handler: its connection is refused
    })
    const result = await worker.scheduled({ cron: '* * * * *', scheduledTime: new Date() })
    expect(result.outcome).toBe('ok')

    await vi.waitFor(async () => {
      const { endpoints } = await healthObject(env).stats()
      expect(endpoints['test/chat@alpha']).toMatchObject({ samples: 1, errorRate: 0, uptime_last_5m: 100 })
      expect(endpoints['test/claude@beta']).toMatchObject({ samples: 1, errorRate: 1 })
      expect(endpoints['test/other@gamma']).toMatchObject({ samples: 1, errorRate: 1 })
      expect(endpoints['test/dark@dark']).toBeUndefined()
    })
    expect(upstream.calls.every((call) => call.body.max_tokens === 1)).toBe(true)
    expect(upstream.calls.some((call) => call.url.startsWith('http://127.0.0.1:9104'))).toBe(false)
  })
})

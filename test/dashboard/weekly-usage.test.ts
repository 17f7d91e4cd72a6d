import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createApp } from '../../src/app'
import { keyObject } from '../../src/tenancy/directory'
import { ADMIN_TOKEN, BASE } from '../support/gateway'

/** A key limited per week: its dashboard row shows what the week has used, the figure its limit is checked against. */

let now = Date.parse('2026-11-19T09:00:00Z')
const app = createApp({ clock: () => now })

async function viaApp(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext()
  const response = await app.fetch(new Request(`${BASE}${path}`, { redirect: 'manual', ...init }), env, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

const record = (id: string, at: number, cost: number) =>
  JSON.stringify({
    id, created_at: at, model_requested: 'm', api_type: 'completions', model: 'm', provider: 'p', provider_name: 'P', streamed: false, cancelled: false,
    status: 'success', http_status: 200, finish_reason: 'stop', native_finish_reason: 'stop', tokens_prompt: 1, tokens_completion: 1, tokens_cached: 0,
    tokens_reasoning: 0, usage_estimated: false, cost_nano: cost, latency_ms: 5, ttfb_ms: 5, attempts: [], error: null,
  })

describe('the dashboard’s row of a key with limit_reset: weekly', () => {
  it('shows the week’s usage, which its limit is checked against', async () => {
    const created = await viaApp('/v1/keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'weekly budget', limit: 1, limit_reset: 'weekly' }),
    })
    const { hash } = ((await created.json()) as { data: { hash: string } }).data
    const stub = keyObject(env, hash)
    // One request's spend at `iso`, admitted and settled by the key's object.
    const spend = async (id: string, iso: string, nano: number) => {
      const at = Date.parse(iso)
      const [admission] = await stub.admit([{ id, request: { now: at, candidates: [{ model: 'm', provider: 'p', worstCaseNano: nano }], promptTokens: 1, maxAttempts: 1 } }])
      expect(admission!.ok).toBe(true)
      await stub.settle([{ id, now: at, costNano: nano, tokens: 1, record: record(id, at, nano) }])
    }
    await spend('gen-a', '2026-11-20T10:00:00Z', 500_000_000) // Friday of the week before
    await spend('gen-b', '2026-11-30T10:00:00Z', 300_000_000) // Monday: this week, last month
    await spend('gen-c', '2026-12-01T10:00:00Z', 50_000_000) // Tuesday: this week, this month

    // Wednesday 2 December: today $0, this week $0.35 of the $1 weekly limit, this month $0.05, in all $0.85.
    now = Date.parse('2026-12-02T09:00:00Z')
    const api = (await (await viaApp(`/v1/keys/${hash}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { data: Record<string, number> }
    expect(api.data).toMatchObject({ usage_daily: 0, usage_weekly: 0.35, usage_monthly: 0.05, usage: 0.85, limit_remaining: 0.65 })

    const signIn = await viaApp('/dashboard/sign-in', {
      method: 'POST',
      headers: { origin: BASE, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: ADMIN_TOKEN }),
    })
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!
    const body = await (await viaApp('/dashboard', { headers: { cookie } })).text()
    expect(body).toContain('<th>used today / this week / this month / in all</th>')
    const start = body.indexOf('<tr><td>weekly budget</td>')
    expect(start).toBeGreaterThanOrEqual(0)
    const row = body.slice(start, body.indexOf('</tr>', start))
    expect(row).toContain('<td class="num">$0.65</td>')
    expect(row).toContain('<td class="num">$0.00 / $0.35 / $0.05 / $0.85</td>')
  })
})

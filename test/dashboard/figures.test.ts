import { env, evictDurableObject, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { HEALTH_KV_KEY } from '../../src/health/health-do'
import { keyObject } from '../../src/tenancy/directory'
import { emptyLedger } from '../../src/tenancy/ledger'
import { dashboardPage, postForm, signIn } from '../support/dashboard'
import { adminFetch, createKey, setUpGateway } from '../support/gateway'

/** What the dashboard shows and does for an operator: exact money, expiry to the minute, uptime not rounded up, one key per form. */

setUpGateway()

async function overview(cookie: string): Promise<string> {
  return (await dashboardPage(cookie)).text()
}

function rowOf(body: string, name: string): string {
  const start = body.indexOf(`<tr><td>${name}</td>`)
  expect(start).toBeGreaterThanOrEqual(0)
  return body.slice(start, body.indexOf('</tr>', start))
}

describe('the dashboard', () => {
  it('makes one key of a form sent twice at once (a double click)', async () => {
    const cookie = await signIn()
    const formId = /name="form_id" value="([0-9a-f-]{36})"/.exec(await overview(cookie))![1]!
    const fields = { name: 'double click', form_id: formId }
    const answers = await Promise.all([postForm('/dashboard/keys', fields, { cookie }), postForm('/dashboard/keys', fields, { cookie })])
    const listed = (await (await adminFetch('/v1/keys?include_disabled=true')).json()) as { data: { name: string }[] }
    expect(listed.data.filter((key) => key.name === 'double click')).toHaveLength(1)
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409])
  })

  it('shows a key’s money to the nano-dollar, past a million dollars too', async () => {
    const { hash } = await createKey({ name: 'big spender' })
    const stub = keyObject(env, hash)
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.kv.put('ledger', { ...emptyLedger(Date.now()), totalNano: 8_566_833_407_337_288 })
    })
    await evictDurableObject(stub)
    expect(rowOf(await overview(await signIn()), 'big spender')).toContain('$8566833.407337288')
  })

  it('shows when a key stops working, to the minute and in UTC', async () => {
    await createKey({ name: 'expiring', expires_at: '2099-01-31T23:30:00Z' })
    expect(rowOf(await overview(await signIn()), 'expiring')).toContain('until 2099-01-31 23:30 UTC')
  })

  it('does not show an endpoint that failed requests as 100.0% up', async () => {
    const now = Date.now()
    const stats = {
      circuit: 'closed',
      coolingUntil: null,
      errorRate: 0.0004,
      samples: 2500,
      ttfbMs: 200,
      tokensPerSecond: 80,
      lastSeen: now,
      uptime_last_5m: 99.96,
      uptime_last_30m: 99.96,
      uptime_last_1d: 99.96,
      latency_last_30m: { p50: 0.2, p75: 0.25, p90: 0.3, p99: 0.5 },
      throughput_last_30m: { p50: 80, p75: 70, p90: 60, p99: 50 },
      cooling_until: null,
    }
    await env.KV.put(HEALTH_KV_KEY, JSON.stringify({ publishedAt: now, endpoints: { 'test/chat@alpha': stats } }))
    const body = await overview(await signIn())
    const at = body.indexOf('<code>test/chat@alpha</code>')
    const row = body.slice(at, body.indexOf('</tr>', at))
    expect(row).toContain('200 ms / 500 ms')
    expect(row).toContain('99.9%')
  })
})

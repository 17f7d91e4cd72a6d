import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { configOf } from '../../src/config'
import { HEALTH_KV_KEY, healthObject, nextPublishDelayMs, quietAfterMs, type HealthSnapshot } from '../../src/health/health-do'
import { observation } from './support'

const stub = () => healthObject(env)
const config = configOf(env)
const DAY_MS = 86_400_000

/** What the object stored, read inside it. */
function inspect() {
  return runInDurableObject(stub(), async (_instance, state) => ({
    rows: state.storage.sql.exec<{ key: string; seen_at: number }>('SELECT key, seen_at FROM endpoints ORDER BY key').toArray(),
    alarm: await state.storage.getAlarm(),
  }))
}

async function drainAlarm(): Promise<void> {
  while (await runDurableObjectAlarm(stub())) {
    // each run may schedule the next; keep going until the object stops on its own
    await runInDurableObject(stub(), (_instance, state) => state.storage.kv.put('changedAt', 0))
  }
}

beforeEach(async () => {
  await drainAlarm()
  await env.KV.delete(HEALTH_KV_KEY)
})

describe('HealthDO reports', () => {
  it('merges batches into per-endpoint state, persisted across eviction', async () => {
    const now = Date.now()
    await stub().report([
      observation('success', now - 3, { endpoint: 'm/a@p', ttfbMs: 100 }),
      observation('server_error', now - 2, { endpoint: 'm/a@p' }),
    ])
    await stub().report([observation('success', now - 1, { endpoint: 'm/a@p', ttfbMs: 200 }), observation('rate_limited', now, { endpoint: 'm/b@p' })])

    const stored = await inspect()
    expect(stored.rows.map((row) => row.key)).toEqual(['m/a@p', 'm/b@p'])
    expect(stored.rows[0]!.seen_at).toBe(now - 1)

    await evictDurableObject(stub())
    const stats = await stub().stats(now)
    expect(stats.endpoints['m/a@p']).toMatchObject({ samples: 3, errorRate: 1 / 3, ttfbMs: 120, circuit: 'closed', uptime_last_5m: (2 / 3) * 100 })
    expect(stats.endpoints['m/b@p']).toMatchObject({ samples: 0, coolingUntil: now + config.COOLDOWN_DEFAULT_MS })
  })

  it('schedules a publish as soon as one is allowed', async () => {
    const before = Date.now()
    await stub().report([observation('success', before, { endpoint: 'm/c@p' })])
    const { alarm } = await inspect()
    expect(alarm).not.toBeNull()
    expect(alarm!).toBeLessThanOrEqual(Date.now() + config.HEALTH_PUBLISH_MS)
  })
})

describe('HealthDO alarm', () => {
  it('publishes the snapshot to KV and keeps publishing while data is fresh', async () => {
    const now = Date.now()
    await stub().report([
      observation('server_error', now, { endpoint: 'm/d@p' }),
      observation('server_error', now, { endpoint: 'm/d@p' }),
      observation('server_error', now, { endpoint: 'm/d@p' }),
    ])
    expect(await runDurableObjectAlarm(stub())).toBe(true)

    const snapshot = await env.KV.get<HealthSnapshot>(HEALTH_KV_KEY, 'json')
    expect(snapshot?.publishedAt).toBeGreaterThanOrEqual(now)
    expect(snapshot?.endpoints['m/d@p']).toMatchObject({ circuit: 'open', errorRate: 1, samples: 3, uptime_last_5m: 0, latency_last_30m: null })
    const { alarm } = await inspect()
    expect(alarm).not.toBeNull()
    expect(alarm! - snapshot!.publishedAt).toBe(config.HEALTH_PUBLISH_MS)
  })

  it('stops a day after the last report, and starts again on the next report', async () => {
    await stub().report([observation('success', Date.now(), { endpoint: 'm/e@p' })])
    await runInDurableObject(stub(), (_instance, state) => state.storage.kv.put('changedAt', Date.now() - DAY_MS))
    expect(await runDurableObjectAlarm(stub())).toBe(true)
    expect(await env.KV.get(HEALTH_KV_KEY)).not.toBeNull()
    expect((await inspect()).alarm).toBeNull()
    expect(await runDurableObjectAlarm(stub())).toBe(false)

    await stub().report([observation('success', Date.now(), { endpoint: 'm/e@p' })])
    expect((await inspect()).alarm).not.toBeNull()
  })

  it('once views have settled, republishes each minute while the 30-minute windows hold data, then hourly for the day’s', async () => {
    const now = Date.now()
    await stub().report([observation('success', now, { endpoint: 'm/w@p', ttfbMs: 100 }), observation('server_error', now, { endpoint: 'm/w@p' })])
    const alarmAfter = async (quietMs: number) => {
      await runInDurableObject(stub(), async (_instance, state) => {
        state.storage.kv.put('changedAt', Date.now() - quietMs)
        await state.storage.deleteAlarm()
      })
      await stub().publish(Date.now())
      const { alarm } = await inspect()
      return alarm === null ? null : alarm - ((await env.KV.get<HealthSnapshot>(HEALTH_KV_KEY, 'json'))?.publishedAt ?? 0)
    }
    expect(await alarmAfter(0)).toBe(config.HEALTH_PUBLISH_MS)
    expect(await alarmAfter(quietAfterMs(config))).toBe(60_000)
    expect(await alarmAfter(30 * 60_000)).toBe(60_000)
    expect(await alarmAfter(40 * 60_000)).toBe(3_600_000)
    expect(await alarmAfter(DAY_MS - 1_000)).toBe(3_600_000)
    expect(await alarmAfter(DAY_MS)).toBeNull()
  })

  it('forgets endpoints silent for a day', async () => {
    const now = Date.now()
    await stub().report([
      observation('success', now - 2 * 86_400_000, { endpoint: 'm/gone@p' }),
      observation('success', now, { endpoint: 'm/here@p' }),
    ])
    await runDurableObjectAlarm(stub())
    const snapshot = await env.KV.get<HealthSnapshot>(HEALTH_KV_KEY, 'json')
    expect(Object.keys(snapshot!.endpoints)).toContain('m/here@p')
    expect(Object.keys(snapshot!.endpoints)).not.toContain('m/gone@p')
    expect((await inspect()).rows.map((row) => row.key)).not.toContain('m/gone@p')
    expect((await stub().stats()).endpoints['m/gone@p']).toBeUndefined()
  })
})

describe('HealthDO: a report after the views settled', () => {
  it('is published within HEALTH_PUBLISH_MS, not at the next minutely or hourly republish', async () => {
    const now = Date.now()
    await stub().report([observation('success', now, { endpoint: 'm/late@p', ttfbMs: 100 })])
    // Quiet for 40 minutes: the last publish scheduled the hourly republish.
    await runInDurableObject(stub(), (_instance, state) => state.storage.kv.put('changedAt', Date.now() - 40 * 60_000))
    expect(await runDurableObjectAlarm(stub())).toBe(true)
    expect((await inspect()).alarm! - Date.now()).toBeGreaterThan(50 * 60_000)

    // The provider now fails: three errors open its circuit, which the gateway must learn within a publish interval.
    const at = Date.now()
    await stub().report([observation('server_error', at, { endpoint: 'm/late@p' }), observation('server_error', at, { endpoint: 'm/late@p' }), observation('server_error', at, { endpoint: 'm/late@p' })])
    expect((await inspect()).alarm! - at).toBeLessThanOrEqual(config.HEALTH_PUBLISH_MS + 1_000)
  })

  it('never schedules publishes closer together than HEALTH_PUBLISH_MS, whatever the quiet spell', () => {
    const slow = { ...config, HEALTH_PUBLISH_MS: 300_000 }
    for (const quietMs of [0, quietAfterMs(slow), 10 * 60_000, 30 * 60_000, 2 * 3_600_000]) {
      const delay = nextPublishDelayMs(slow, quietMs)
      expect(delay === null || delay >= slow.HEALTH_PUBLISH_MS, `quiet ${quietMs} ms → next publish in ${delay} ms`).toBe(true)
    }
  })
})

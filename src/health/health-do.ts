import { DurableObject } from 'cloudflare:workers'
import { configOf, type Config } from '../config'
import type { Env } from '../env'
import { MINUTE_MS } from './history'
import { BUCKET_MS, endpointStats, observe, viewOf, type EndpointHealth, type EndpointStats } from './stats'
import type { HealthView, Observation } from './types'

/**
 * The one global aggregate of endpoint health (a single instance named "global"). Isolates send
 * their batched observations here; an alarm publishes the result to KV as one snapshot, so KV has
 * a single writer and its 1 write/s limit holds. Each report costs O(batch): the endpoints it
 * touches are read (from memory after the first time) and written once each.
 */

export const HEALTH_KV_KEY = 'health/v1'
export const HEALTH_OBJECT_NAME = 'global'

export type EndpointSnapshot = HealthView & EndpointStats

export interface HealthSnapshot {
  publishedAt: number
  endpoints: Record<string, EndpointSnapshot>
}

const CHANGED_AT = 'changedAt'
const PUBLISHED_AT = 'publishedAt'
const DAY_MS = 86_400_000

export function healthObject(env: Env): DurableObjectStub<HealthDO> {
  return env.HEALTH.getByName(HEALTH_OBJECT_NAME)
}

/**
 * How long the alarm keeps publishing after the last report. Views still change without new
 * observations until the window has emptied and every open circuit has turned half-open; after
 * that the published snapshot is a fixed point and the alarm stops.
 */
export function quietAfterMs(config: Config): number {
  return Math.max(config.HEALTH_WINDOW_MS + BUCKET_MS, config.CIRCUIT_OPEN_MS)
}

const HOUR_MS = 3_600_000

/**
 * When the next publish is due, `quietMs` after the last report; null once nothing published can
 * change. After the views settle, the published stats' windows (uptime over 5 and 30 minutes and
 * a day, percentiles over 30 minutes) still lose their oldest minutes: republished each minute
 * while a 30-minute window holds any, then hourly for the day's (never more often than
 * HEALTH_PUBLISH_MS). A report brings the next publish forward (report()).
 */
export function nextPublishDelayMs(config: Config, quietMs: number): number | null {
  if (quietMs < quietAfterMs(config)) return config.HEALTH_PUBLISH_MS
  if (quietMs < 30 * MINUTE_MS + MINUTE_MS) return Math.max(MINUTE_MS, config.HEALTH_PUBLISH_MS)
  if (quietMs < DAY_MS) return Math.max(HOUR_MS, config.HEALTH_PUBLISH_MS)
  return null
}

export class HealthDO extends DurableObject<Env> {
  private readonly states = new Map<string, EndpointHealth>()
  private loadedAll = false

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS endpoints (key TEXT PRIMARY KEY, state TEXT NOT NULL, seen_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS endpoints_by_seen ON endpoints (seen_at);`)
  }

  /** Merges a batch of observations (from one isolate's flush or one probe run). */
  async report(observations: Observation[]): Promise<void> {
    if (observations.length === 0) return
    const config = configOf(this.env)
    const touched = new Map<string, EndpointHealth>()
    for (const observation of [...observations].sort((a, b) => a.at - b.at)) {
      const state = observe(this.state(observation.endpoint), observation, config)
      this.states.set(observation.endpoint, state)
      touched.set(observation.endpoint, state)
    }
    for (const [key, state] of touched) {
      this.ctx.storage.sql.exec(
        'INSERT OR REPLACE INTO endpoints (key, state, seen_at) VALUES (?, ?, ?)',
        key,
        JSON.stringify(state),
        state.lastSeen ?? 0,
      )
    }
    const now = Date.now()
    this.ctx.storage.kv.put(CHANGED_AT, now)
    // As soon as one is allowed: a republish of a quiet spell (a minute or an hour away) is brought forward.
    const due = Math.max(now, (this.ctx.storage.kv.get<number>(PUBLISHED_AT) ?? 0) + config.HEALTH_PUBLISH_MS)
    const alarm = await this.ctx.storage.getAlarm()
    if (alarm === null || alarm > due) await this.ctx.storage.setAlarm(due)
  }

  /** Every known endpoint's view and live stats, as published (the live endpoints API reads this). */
  stats(now: number = Date.now()): HealthSnapshot {
    const config = configOf(this.env)
    this.loadAll()
    const endpoints: Record<string, EndpointSnapshot> = {}
    for (const [key, state] of this.states) endpoints[key] = { ...viewOf(state, now, config), ...endpointStats(state, now) }
    return { publishedAt: now, endpoints }
  }

  override async alarm(): Promise<void> {
    await this.publish(Date.now())
  }

  /** Writes the snapshot to KV, forgets endpoints silent for a day, and keeps publishing only while what it publishes can still change. */
  async publish(now: number): Promise<void> {
    const config = configOf(this.env)
    this.loadAll()
    // Endpoints gone from the catalog stop reporting; a day later they leave the snapshot.
    for (const row of this.ctx.storage.sql.exec<{ key: string }>('DELETE FROM endpoints WHERE seen_at < ? RETURNING key', now - DAY_MS)) {
      this.states.delete(row.key)
    }
    // Recorded before the KV write so that a report arriving during it schedules the next publish a full interval later.
    this.ctx.storage.kv.put(PUBLISHED_AT, now)
    await this.env.KV.put(HEALTH_KV_KEY, JSON.stringify(this.stats(now)))
    const changedAt = this.ctx.storage.kv.get<number>(CHANGED_AT) ?? 0
    const delay = nextPublishDelayMs(config, now - changedAt)
    if (delay !== null) await this.ctx.storage.setAlarm(now + delay)
  }

  private state(key: string): EndpointHealth | undefined {
    const cached = this.states.get(key)
    if (cached || this.loadedAll) return cached
    const row = this.ctx.storage.sql.exec<{ state: string }>('SELECT state FROM endpoints WHERE key = ?', key).toArray()[0]
    // Our own storage, written only by report(): parsed without a schema.
    const state = row ? (JSON.parse(row.state) as EndpointHealth) : undefined
    if (state) this.states.set(key, state)
    return state
  }

  private loadAll(): void {
    if (this.loadedAll) return
    for (const row of this.ctx.storage.sql.exec<{ key: string; state: string }>('SELECT key, state FROM endpoints')) {
      if (!this.states.has(row.key)) this.states.set(row.key, JSON.parse(row.state) as EndpointHealth)
    }
    this.loadedAll = true
  }
}

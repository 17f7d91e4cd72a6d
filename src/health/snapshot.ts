import * as z from 'zod'
import { configOf } from '../config'
import type { Env } from '../env'
import { parsedJson } from '../json'
import { kvMemo } from '../kv-memo'
import { HEALTH_KV_KEY, type EndpointSnapshot } from './health-do'
import { MINUTE_MS } from './history'
import { localView } from './local'
import { BUCKET_MS, mergeViews } from './stats'
import type { HealthLookup, HealthView } from './types'

/**
 * The one way to read health on the hot path: the HealthDO's snapshot from KV, memoised per
 * isolate and refreshed in the background every HEALTH_REFRESH_MS (only an isolate's first read
 * waits for KV), merged with this isolate's own observations, which count at once.
 */

const ViewSchema = z.object({
  circuit: z.enum(['closed', 'open', 'half_open']),
  coolingUntil: z.number().nullable(),
  errorRate: z.number().min(0).max(1),
  samples: z.number().int().nonnegative(),
  ttfbMs: z.number().nullable(),
  tokensPerSecond: z.number().nullable(),
  lastSeen: z.number().nullable(),
})

// Extra fields (the live stats) are stripped: routing needs only the view.
const SnapshotSchema = z.object({ publishedAt: z.number(), endpoints: z.record(z.string(), ViewSchema) })

type Views = Readonly<Record<string, HealthView>>

/**
 * A missing or invalid snapshot is "nothing known": routing goes on by geography and price. A read
 * that fails throws, so a background refresh that fails keeps the last good views (kvMemo backs
 * off) instead of forgetting every open circuit and cooldown; a first read that fails is "nothing
 * known" for that request (currentHealth).
 */
async function loadFromKv(env: Env): Promise<Views> {
  let stored: string | null
  try {
    stored = await env.KV.get(HEALTH_KV_KEY)
  } catch (error) {
    console.error('health snapshot could not be read', error instanceof Error ? error.message : String(error))
    throw error
  }
  if (stored === null) return {}
  const parsed = SnapshotSchema.safeParse(parsedJson(stored))
  if (parsed.success) return parsed.data.endpoints
  console.error('health snapshot in KV failed validation; ignoring it')
  return {}
}

const memo = kvMemo(loadFromKv, (env) => configOf(env).HEALTH_REFRESH_MS)
const NOTHING_KNOWN: Views = {}

/** Forgets this isolate's copy of the published snapshot (tests that must start from "nothing known"). */
export function forgetPublishedHealth(env: Env): void {
  memo.forget(env)
}

export async function currentHealth(
  env: Env,
  waitUntil: (promise: Promise<unknown>) => void,
  now: number,
): Promise<HealthLookup> {
  const views = await memo.read(env, waitUntil, now).catch(() => NOTHING_KNOWN)
  const { CIRCUIT_OPEN_MS: openMs, HEALTH_WINDOW_MS: windowMs } = configOf(env)
  const current = (view: HealthView): HealthView => {
    const circuit = aged(view, now, openMs)
    // The copy may be as old as the quiet spell it was kept through: a window with no observation left in it counts none.
    return view.lastSeen !== null && now - view.lastSeen >= windowMs + BUCKET_MS ? { ...circuit, errorRate: 0, samples: 0 } : circuit
  }
  return (key) => mergeViews(localView(env, key, now), Object.hasOwn(views, key) ? current(views[key]!) : undefined, openMs)
}

const PercentilesSchema = z.object({ p50: z.number(), p75: z.number(), p90: z.number(), p99: z.number() }).nullable()
const PublishedSchema = z.object({
  publishedAt: z.number(),
  endpoints: z.record(
    z.string(),
    ViewSchema.extend({
      uptime_last_5m: z.number().nullable(),
      uptime_last_30m: z.number().nullable(),
      uptime_last_1d: z.number().nullable(),
      latency_last_30m: PercentilesSchema,
      throughput_last_30m: PercentilesSchema,
      circuit: z.enum(['closed', 'open', 'half_open']),
      cooling_until: z.number().nullable(),
    }),
  ),
})

/**
 * The last published snapshot with its live stats, for the public catalog routes: a (cached) KV
 * read, so anonymous traffic never reaches the HealthDO that every isolate reports to. At most
 * HEALTH_PUBLISH_MS (plus KV's propagation) old; nothing published reads as nothing known. The
 * HealthDO stops publishing once reports stop, so what time alone changes is brought up to `now`
 * as routing sees it: a cooldown that has passed is none, an open circuit ages to half-open, and
 * a stats window with no observation left in it is null.
 */
export async function publishedHealth(env: Env, now: number): Promise<Record<string, EndpointSnapshot>> {
  const stored = await env.KV.get<unknown>(HEALTH_KV_KEY, 'json').catch(() => null)
  const parsed = PublishedSchema.safeParse(stored)
  if (!parsed.success) return {}
  const openMs = configOf(env).CIRCUIT_OPEN_MS
  const current = (snapshot: EndpointSnapshot): EndpointSnapshot => {
    const coolingUntil = snapshot.coolingUntil !== null && snapshot.coolingUntil > now ? snapshot.coolingUntil : null
    // A window that has passed since the endpoint's last observation holds none now.
    const quiet = (windowMs: number) => snapshot.lastSeen === null || now - snapshot.lastSeen > windowMs
    return {
      ...snapshot,
      circuit: aged(snapshot, now, openMs).circuit,
      coolingUntil,
      cooling_until: coolingUntil,
      uptime_last_5m: quiet(5 * MINUTE_MS) ? null : snapshot.uptime_last_5m,
      uptime_last_30m: quiet(30 * MINUTE_MS) ? null : snapshot.uptime_last_30m,
      uptime_last_1d: quiet(24 * 60 * MINUTE_MS) ? null : snapshot.uptime_last_1d,
      latency_last_30m: quiet(30 * MINUTE_MS) ? null : snapshot.latency_last_30m,
      throughput_last_30m: quiet(30 * MINUTE_MS) ? null : snapshot.throughput_last_30m,
    }
  }
  return Object.fromEntries(Object.entries(parsed.data.endpoints).map(([key, snapshot]) => [key, current(snapshot)]))
}

/**
 * A published view is frozen at publish time, but circuits move with time: one that opened at its
 * last failure is half-open once CIRCUIT_OPEN_MS has passed, whether or not a newer snapshot says so.
 */
function aged(view: HealthView, now: number, openMs: number): HealthView {
  return view.circuit === 'open' && view.lastSeen !== null && now - view.lastSeen >= openMs ? { ...view, circuit: 'half_open' } : view
}

import { z } from 'zod'
import { configOf } from '../config'
import type { Env } from '../env'
import { kvMemo } from '../kv-memo'
import { HEALTH_KV_KEY } from './health-do'
import { localView } from './local'
import { mergeViews } from './stats'
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

/** A missing, unreadable or invalid snapshot is "nothing known", never an error: routing goes on by geography and price. */
async function loadFromKv(env: Env): Promise<Views> {
  try {
    const stored = await env.KV.get<unknown>(HEALTH_KV_KEY, 'json')
    if (stored === null) return {}
    const parsed = SnapshotSchema.safeParse(stored)
    if (parsed.success) return parsed.data.endpoints
    console.error('health snapshot in KV failed validation; ignoring it')
  } catch (error) {
    console.error('health snapshot could not be read', error instanceof Error ? error.message : String(error))
  }
  return {}
}

const memo = kvMemo(loadFromKv, (env) => configOf(env).HEALTH_REFRESH_MS)

export async function currentHealth(
  env: Env,
  waitUntil: (promise: Promise<unknown>) => void,
  now: number,
): Promise<HealthLookup> {
  const views = await memo.read(env, waitUntil, now)
  return (key) => mergeViews(localView(env, key, now), Object.hasOwn(views, key) ? views[key] : undefined)
}

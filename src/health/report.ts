import { sleep as realSleep, STALL_MS } from '../clock'
import { configOf } from '../config'
import type { Env } from '../env'
import { healthObject } from './health-do'
import { recordLocally } from './local'
import type { Observation } from './types'

/**
 * The engine's one call after its attempts: each observation counts in this isolate's view at once,
 * and is queued for the HealthDO. The queue is flushed by a single `waitUntil` timer at most every
 * HEALTH_FLUSH_MS, so a busy isolate makes about one HealthDO call per second, not one per request.
 */

/** Beyond this, an isolate's observations still count locally but are not sent: a runaway batch must not grow without bound. */
export const MAX_BATCH = 5_000

export type Sleep = (ms: number) => Promise<void>


interface Queue {
  batch: Observation[]
  /** The pending flush (its start time names it), or null. */
  scheduled: { at: number } | null
}

// Keyed by the HEALTH binding so that separate environments (tests, Miniflare instances) never share.
const queues = new WeakMap<object, Queue>()

function queueOf(env: Env): Queue {
  let queue = queues.get(env.HEALTH)
  if (!queue) {
    queue = { batch: [], scheduled: null }
    queues.set(env.HEALTH, queue)
  }
  return queue
}

export function reportObservations(
  env: Env,
  waitUntil: (promise: Promise<unknown>) => void,
  observations: readonly Observation[],
  sleep: Sleep = realSleep,
): void {
  if (observations.length === 0) return
  const config = configOf(env)
  for (const observation of observations) recordLocally(env, observation, config)
  const queue = queueOf(env)
  for (const observation of observations) if (queue.batch.length < MAX_BATCH) queue.batch.push(observation)
  const now = Date.now()
  // A flush this late never will run (its request's context ended): this request starts another.
  if (queue.scheduled && now - queue.scheduled.at <= config.HEALTH_FLUSH_MS + STALL_MS) return
  const mine = { at: now }
  queue.scheduled = mine
  waitUntil(flushAfter(env, queue, mine, sleep(config.HEALTH_FLUSH_MS)))
}

/** Drops the observations waiting for this isolate's next flush, which then sends nothing (tests that must start from "nothing known"). */
export function dropQueuedReports(env: Env): void {
  const queue = queueOf(env)
  queue.batch = []
  queue.scheduled = null
}

async function flushAfter(env: Env, queue: Queue, mine: { at: number }, timer: Promise<void>): Promise<void> {
  await timer.catch(() => {})
  // Replaced while late: the newer flush sends the batch.
  if (queue.scheduled !== mine) return
  const batch = queue.batch
  queue.batch = []
  queue.scheduled = null
  try {
    await healthObject(env).report(batch)
  } catch (error) {
    // Health data is perishable: a lost batch is replaced by the next second's, never retried into a request.
    console.error(`health flush of ${batch.length} observations failed`, error instanceof Error ? error.message : String(error))
  }
}

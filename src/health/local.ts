import { configOf } from '../config'
import type { Env } from '../env'
import { observe, viewOf, type EndpointHealth, type HealthConfig } from './stats'
import type { HealthView, Observation } from './types'

/**
 * This isolate's own view of endpoint health. It reacts to the isolate's own attempts at once,
 * while the global snapshot needs a flush, a publish and a refresh (seconds) to catch up.
 */

interface Local {
  states: Map<string, EndpointHealth>
  /** Endpoints with a stale latency figure that a request is renewing: until when (Unix ms) nobody else need. */
  exploring: Map<string, number>
}

// Keyed by the HEALTH binding so that separate environments (tests, Miniflare instances) never share.
const locals = new WeakMap<object, Local>()

function localOf(env: Env): Local {
  let local = locals.get(env.HEALTH)
  if (!local) {
    local = { states: new Map(), exploring: new Map() }
    locals.set(env.HEALTH, local)
  }
  return local
}

export function recordLocally(env: Env, observation: Observation, config: HealthConfig): void {
  const { states, exploring } = localOf(env)
  states.set(observation.endpoint, observe(states.get(observation.endpoint), observation, config))
  exploring.delete(observation.endpoint)
}

/**
 * Notes that a request is being sent to renew an endpoint's stale latency figure, so that the
 * isolate's other requests keep to the endpoints they know until its outcome is observed (or
 * `until`, if it never is).
 */
export function markExploring(env: Env, key: string, until: number): void {
  localOf(env).exploring.set(key, until)
}

/** The renewal will not happen after all (admission refused the request, or left that endpoint out). */
export function clearExploring(env: Env, key: string): void {
  localOf(env).exploring.delete(key)
}

export function isExploring(env: Env, key: string, now: number): boolean {
  return (localOf(env).exploring.get(key) ?? 0) > now
}

export function localView(env: Env, key: string, now: number): HealthView | undefined {
  const state = localOf(env).states.get(key)
  return state && viewOf(state, now, configOf(env))
}

/** Forgets everything this isolate observed (tests that must start from "nothing known"). */
export function forgetLocalHealth(env: Env): void {
  locals.delete(env.HEALTH)
}

import { configOf } from '../config'
import type { Env } from '../env'
import { observe, viewOf, type EndpointHealth, type HealthConfig } from './stats'
import type { HealthView, Observation } from './types'

/**
 * This isolate's own view of endpoint health. It reacts to the isolate's own attempts at once,
 * while the global snapshot needs a flush, a publish and a refresh (seconds) to catch up.
 */

// Keyed by the HEALTH binding so that separate environments (tests, Miniflare instances) never share.
const states = new WeakMap<object, Map<string, EndpointHealth>>()

function statesOf(env: Env): Map<string, EndpointHealth> {
  let map = states.get(env.HEALTH)
  if (!map) {
    map = new Map()
    states.set(env.HEALTH, map)
  }
  return map
}

export function recordLocally(env: Env, observation: Observation, config: HealthConfig): void {
  const map = statesOf(env)
  map.set(observation.endpoint, observe(map.get(observation.endpoint), observation, config))
}

export function localView(env: Env, key: string, now: number): HealthView | undefined {
  const state = statesOf(env).get(key)
  return state && viewOf(state, now, configOf(env))
}

/** Forgets everything this isolate observed (tests that must start from "nothing known"). */
export function forgetLocalHealth(env: Env): void {
  states.delete(env.HEALTH)
}

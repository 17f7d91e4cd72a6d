import type { Endpoint } from '../catalog/snapshot'
import { type CircuitState, endpointKey, type HealthView } from '../health/types'

/**
 * How good an endpoint looks for this client right now. Pure.
 *
 * expected latency = network estimate from the client's distance to the endpoint's region
 *                    (light in fibre: about 1 ms of round trip per 100 km)
 *                  + the endpoint's observed time to first byte (a prior while unobserved)
 * score            = expected latency × (1 + HEALTH_PENALTY × recent error rate)     (lower is better)
 *                    — the error rate counts only from `minSamples` attempts in the window, so one
 *                    transient failure does not reorder routing (three in a row open the circuit)
 * tier             = 0 usable (closed or half-open circuit), 1 avoid (open circuit, cooling after a 429,
 *                    or half-open with another request already its probe)
 */

export interface Geo {
  lat: number
  lon: number
  colo: string | null
}

/** Assumed time to first byte of an endpoint nobody has observed yet. */
export const PRIOR_TTFB_MS = 500
/** Assumed throughput (tokens/s) of an endpoint nobody has observed yet. */
export const PRIOR_TOKENS_PER_SECOND = 50
/** At a 50% error rate an endpoint's score triples. */
const HEALTH_PENALTY = 4
const KM_PER_MS_ROUND_TRIP = 100
const EARTH_RADIUS_KM = 6371

export interface Scored {
  endpoint: Endpoint
  key: string
  distanceKm: number | null
  networkMs: number
  ttfbMs: number
  /** The TTFB is assumed (a stale figure being renewed), not observed. */
  ttfbAssumed: boolean
  tokensPerSecond: number
  errorRate: number
  circuit: CircuitState
  coolingUntil: number | null
  expectedMs: number
  score: number
  tier: 0 | 1
  /** USD per million tokens, for sorting by price and for the trace. */
  price: { prompt: number; completion: number }
}

export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180
  const dLat = (b.lat - a.lat) * rad
  const dLon = (b.lon - a.lon) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}

export function scoreEndpoint(
  endpoint: Endpoint,
  health: HealthView | undefined,
  client: Geo | null,
  now: number,
  minSamples: number,
  /**
   * Set when the endpoint's latency figure is stale (or missing) and this request may renew it:
   * the TTFB to assume instead, the best fresh one (optimism under uncertainty, see plan.ts).
   */
  assumedTtfbMs: number | null = null,
  /** Another request of this isolate is the half-open circuit's probe: this one waits for its outcome elsewhere. */
  probed = false,
): Scored {
  const distance = client ? distanceKm(client, endpoint.provider.region) : null
  const networkMs = distance === null ? 0 : distance / KM_PER_MS_ROUND_TRIP
  const known = health?.ttfbMs ?? PRIOR_TTFB_MS
  const ttfbMs = assumedTtfbMs === null ? known : Math.min(known, assumedTtfbMs)
  const circuit = health?.circuit ?? 'closed'
  // The failures that opened a circuit must not keep its half-open probe away.
  const errorRate = health && circuit !== 'half_open' && health.samples >= minSamples ? health.errorRate : 0
  const coolingUntil = health?.coolingUntil != null && health.coolingUntil > now ? health.coolingUntil : null
  const expectedMs = networkMs + ttfbMs
  return {
    endpoint,
    key: endpointKey(endpoint.model.id, endpoint.provider.id),
    distanceKm: distance,
    networkMs,
    ttfbMs,
    ttfbAssumed: ttfbMs !== known,
    tokensPerSecond: health?.tokensPerSecond ?? PRIOR_TOKENS_PER_SECOND,
    errorRate,
    circuit,
    coolingUntil,
    expectedMs,
    score: expectedMs * (1 + HEALTH_PENALTY * errorRate),
    tier: circuit === 'open' || coolingUntil !== null || (probed && circuit === 'half_open') ? 1 : 0,
    price: {
      prompt: Number(endpoint.spec.pricing.prompt) * 1e6,
      completion: Number(endpoint.spec.pricing.completion) * 1e6,
    },
  }
}

/** The client's location from `request.cf` (latitude and longitude arrive as strings). */
export function geoFromCf(cf: object | undefined): Geo | null {
  const fields: { latitude?: unknown; longitude?: unknown; colo?: unknown } = cf ?? {}
  if (fields.latitude == null || fields.longitude == null) return null
  const lat = Number(fields.latitude)
  const lon = Number(fields.longitude)
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return null
  return { lat, lon, colo: typeof fields.colo === 'string' ? fields.colo : null }
}

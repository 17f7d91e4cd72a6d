import { DEFAULT_CONFIG } from '../../src/config'

/**
 * The fault bench's script, as data: the simulated fleet (three OpenAI-format providers far apart),
 * where the client is, and the timeline of faults. Times here are **virtual seconds**: the harness
 * multiplies them by the time scale (`--time-scale`) to get real seconds, and scales the gateway's
 * time-based health settings by the same factor, so that "a 40 s outage against a 20 s half-open"
 * keeps its shape in a shorter run. Latencies are never scaled: they are what the load measures.
 */

/** What one simulated provider does with each request, from the moment it is set. */
export type Behaviour =
  /** Answers a completion after `latencyMs` (a latency spike is this with a large value). */
  | { kind: 'healthy'; latencyMs: number }
  /** Answers `status` (a 5xx) with an OpenAI-style error body after `latencyMs`. */
  | { kind: 'error'; status: number; latencyMs: number }
  /** Stops listening: connections are refused (and open keep-alive connections are closed). */
  | { kind: 'refuse' }
  /** Answers 429 with `Retry-After: retryAfterS` (virtual seconds, scaled) after `latencyMs`. */
  | { kind: 'rate-limited'; retryAfterS: number; latencyMs: number }
  /** Alternates `down` and healthy, `periodS / 2` (virtual seconds) each, starting down. */
  | { kind: 'flapping'; periodS: number; down: { kind: 'error'; status: number; latencyMs: number } }

export interface FleetProvider {
  id: string
  name: string
  region: { name: string; lat: number; lon: number }
  /** Healthy latency to the whole JSON answer: 20 ms of work plus the round trip from the client's
   *  region at about 1 ms per 100 km (the same rule the gateway's network estimate uses). */
  latencyMs: number
  /** USD per token, as the catalog takes them: the nearest provider is the dearest. */
  pricing: { prompt: string; completion: string }
}

export const FLEET: readonly FleetProvider[] = [
  { id: 'eu-fra', name: 'EU Frankfurt', region: { name: 'Frankfurt', lat: 50.11, lon: 8.68 }, latencyMs: 25, pricing: { prompt: '0.000002', completion: '0.000006' } },
  { id: 'us-iad', name: 'US Ashburn', region: { name: 'Ashburn', lat: 39.04, lon: -77.49 }, latencyMs: 82, pricing: { prompt: '0.0000015', completion: '0.000004' } },
  { id: 'ap-sin', name: 'AP Singapore', region: { name: 'Singapore', lat: 1.35, lon: 103.82 }, latencyMs: 127, pricing: { prompt: '0.000001', completion: '0.000003' } },
]

/** The client's `request.cf`, as Cloudflare sends it (latitude and longitude are strings): Paris,
 *  480 km from Frankfurt, 6,200 km from Ashburn, 10,700 km from Singapore. */
export const CLIENT_CF = { colo: 'CDG', country: 'FR', continent: 'EU', city: 'Paris', latitude: '48.85660', longitude: '2.35220' }

export interface Phase {
  name: string
  /** Virtual seconds. */
  seconds: number
  /** The provider this phase breaks, and how; none for baseline and recovery phases. */
  fault: { provider: string; behaviour: Behaviour; describe: string } | null
}

/** Every fault hits the nearest provider, which is also first in catalog order: the one every
 *  routing mode leans on, so no mode is spared by luck. */
const FAULTY = 'eu-fra'

/**
 * Why these lengths (virtual seconds, against the gateway's defaults): the outage (40 s) outlasts
 * one half-open interval (CIRCUIT_OPEN_MS, 20 s), so one probe fails during it and re-opens the
 * circuit; each phase after a fault (40 s) is longer than a full half-open interval, so the next
 * probe must land inside it, and than the 30 s recovery goal plus its 1 s window at the quick
 * scale (8 virtual s), so a recovery not seen within it is a miss, not a phase too short to tell. Flapping (6 s period) is faster than the 60 s window, so failures pile up in
 * it. The latency spike comes last because nothing but traffic refreshes a smoothed latency, and an
 * endpoint routing stopped using would otherwise mask the faults after it.
 */
export const TIMELINE: readonly Phase[] = [
  { name: 'baseline', seconds: 10, fault: null },
  { name: 'outage', seconds: 40, fault: { provider: FAULTY, behaviour: { kind: 'refuse' }, describe: 'refuses connections' } },
  { name: 'after outage', seconds: 40, fault: null },
  {
    name: '429 storm',
    seconds: 20,
    fault: { provider: FAULTY, behaviour: { kind: 'rate-limited', retryAfterS: 5, latencyMs: 5 }, describe: '429 with Retry-After: 5 s' },
  },
  { name: 'after 429s', seconds: 40, fault: null },
  {
    name: 'flapping',
    seconds: 30,
    fault: {
      provider: FAULTY,
      behaviour: { kind: 'flapping', periodS: 6, down: { kind: 'error', status: 500, latencyMs: 5 } },
      describe: '500s for 3 s, healthy for 3 s, again',
    },
  },
  { name: 'after flapping', seconds: 40, fault: null },
  {
    name: 'latency spike',
    seconds: 20,
    fault: { provider: FAULTY, behaviour: { kind: 'healthy', latencyMs: 1500 }, describe: 'answers in 1,500 ms instead of 25 ms' },
  },
  { name: 'after spike', seconds: 40, fault: null },
]

/**
 * The gateway's time-based health settings at their defaults (read from src/config.ts, so they
 * cannot drift; docs/health.md); the bench sets each to default × time scale. Counts (3 failures in
 * a row, 5 samples, 50%) and the 10 s buckets of the health window are not time settings and stay.
 */
export const TIME_SETTINGS_MS = {
  CIRCUIT_OPEN_MS: DEFAULT_CONFIG.CIRCUIT_OPEN_MS,
  HEALTH_WINDOW_MS: DEFAULT_CONFIG.HEALTH_WINDOW_MS,
  COOLDOWN_DEFAULT_MS: DEFAULT_CONFIG.COOLDOWN_DEFAULT_MS,
  HEALTH_FLUSH_MS: DEFAULT_CONFIG.HEALTH_FLUSH_MS,
  HEALTH_PUBLISH_MS: DEFAULT_CONFIG.HEALTH_PUBLISH_MS,
  HEALTH_REFRESH_MS: DEFAULT_CONFIG.HEALTH_REFRESH_MS,
  PROBE_IDLE_MS: DEFAULT_CONFIG.PROBE_IDLE_MS,
  HEALTH_STALE_MS: DEFAULT_CONFIG.HEALTH_STALE_MS,
}

/** The deployed cron trigger (`* * * * *`, which runs the health probes) fires every 60 s; Miniflare
 *  never fires it, so the harness does, at every whole minute of the timeline (virtual seconds). */
export const CRON_EVERY_S = 60

export function scaledSettings(scale: number): Record<string, string> {
  return Object.fromEntries(Object.entries(TIME_SETTINGS_MS).map(([name, ms]) => [name, String(Math.max(1, Math.round(ms * scale)))]))
}

type Flapping = Extract<Behaviour, { kind: 'flapping' }>
/** A behaviour with its virtual times turned into real ones, as the fleet process takes it. */
export type RealBehaviour = Exclude<Behaviour, Flapping> | { kind: 'flapping'; periodMs: number; down: Flapping['down'] }

export function realBehaviour(behaviour: Behaviour, scale: number): RealBehaviour {
  switch (behaviour.kind) {
    case 'rate-limited':
      return { ...behaviour, retryAfterS: behaviour.retryAfterS * scale }
    case 'flapping':
      return { kind: 'flapping', periodMs: behaviour.periodS * 1000 * scale, down: behaviour.down }
    default:
      return behaviour
  }
}

export function timelineSeconds(timeline: readonly Phase[]): number {
  return timeline.reduce((sum, phase) => sum + phase.seconds, 0)
}

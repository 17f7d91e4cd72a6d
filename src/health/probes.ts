import type { CatalogSnapshot, Endpoint } from '../catalog/snapshot'
import { secretNamed, type Env } from '../env'
import type { ChatRequest } from '../formats/openai/request'
import { configOf } from '../config'
import { readTextUpTo } from '../bounded-body'
import { failureFromResponse, failureInBody, observationKind, type Failure } from '../gateway/failures'
import { send, type UpstreamCall } from '../providers/adapter'
import { adapterFor } from '../providers/index'
import { prepareEmbeddings } from '../providers/openai-embeddings'
import { retryAfterMs } from './classify'
import { healthObject } from './health-do'
import { endpointKey, type HealthLookup, type Observation } from './types'

/**
 * Active probes, run by cron: endpoints that carried no traffic for PROBE_IDLE_MS, and those with
 * an open or half-open circuit, get the smallest real request their provider accepts, so a
 * recovered provider is noticed without risking a user's request on it. Cron runs on one machine:
 * probes measure reachability, not latency from everywhere.
 */

export const MAX_PROBES_PER_RUN = 20
export const PROBE_TIMEOUT_MS = 10_000
/**
 * Probes in flight at once. A Worker invocation opens at most six connections at a time; a probe
 * queued behind them would run down its timeout unsent and count a healthy endpoint as timing out.
 */
export const PROBE_CONCURRENCY = 6

interface Due {
  endpoint: Endpoint
  key: string
  apiKey: string
  urgent: boolean
  lastSeen: number
}

/** Probes the endpoints that are due and reports the outcomes to the HealthDO; returns what it reported. */
export async function probeEndpoints(
  env: Env,
  catalog: CatalogSnapshot,
  health: HealthLookup,
  now: number,
  fetcher: typeof fetch = fetch,
  random: () => number = Math.random,
): Promise<Observation[]> {
  const due = chooseProbes(dueEndpoints(env, catalog, health, now), MAX_PROBES_PER_RUN, random)
  const outcomes: (Observation | null)[] = []
  // Each observation is dated `now` plus the time since the run began, queued probes included.
  const runStarted = Date.now()
  const at = () => now + (Date.now() - runStarted)
  const next = async (): Promise<void> => {
    for (let item = due.shift(); item; item = due.shift()) outcomes.push(await probe(item, at, fetcher))
  }
  await Promise.all(Array.from({ length: Math.min(PROBE_CONCURRENCY, due.length) }, next))
  const observations = outcomes.filter((outcome): outcome is Observation => outcome !== null)
  if (observations.length > 0) await healthObject(env).report(observations)
  return observations
}

/** Live endpoints that are due, open circuits first, then the longest unseen. */
function dueEndpoints(env: Env, catalog: CatalogSnapshot, health: HealthLookup, now: number): Due[] {
  const idleMs = configOf(env).PROBE_IDLE_MS
  const due: Due[] = []
  for (const model of catalog.models.values()) {
    for (const endpoint of model.endpoints) {
      const apiKey = secretNamed(env, endpoint.provider.apiKeyEnv)
      if (!apiKey) continue
      const key = endpointKey(model.spec.id, endpoint.provider.id)
      const view = health(key)
      // The provider asked for a pause (a 429's Retry-After): a probe would spend its quota and teach nothing.
      if (view?.coolingUntil != null && view.coolingUntil > now) continue
      const urgent = view !== undefined && view.circuit !== 'closed'
      const lastSeen = view?.lastSeen ?? 0
      if (urgent || now - lastSeen >= idleMs) due.push({ endpoint, key, apiKey, urgent, lastSeen })
    }
  }
  return due.sort((a, b) => Number(b.urgent) - Number(a.urgent) || a.lastSeen - b.lastSeen)
}

/**
 * A run's probes: the first half of its slots go to the head of the queue (open circuits, then the
 * longest unseen), the rest to a random draw from the others. A probe that teaches nothing (a
 * 400 to the ping) leaves its endpoint's lastSeen where it was, so by age alone such endpoints
 * would take every slot, run after run, and the ones behind them would never be probed.
 */
export function chooseProbes<T>(queue: readonly T[], slots: number, random: () => number): T[] {
  if (queue.length <= slots) return [...queue]
  const head = Math.ceil(slots / 2)
  const rest = queue.slice(head)
  for (let i = 0; i < slots - head; i++) {
    const j = i + Math.floor(random() * (rest.length - i))
    const picked = rest[j]!
    rest[j] = rest[i]!
    rest[i] = picked
  }
  return [...queue.slice(0, head), ...rest.slice(0, slots - head)]
}

/**
 * The ping: a one-token chat completion, or for a model that only embeds (a chat completion to it
 * is a 4xx, which teaches nothing), the embedding of one word; with what reads its errors.
 */
async function ping({ endpoint, apiKey }: Due): Promise<Pick<UpstreamCall, 'request' | 'errorMessage' | 'providerFault'>> {
  if (!endpoint.model.modalities.output.some((modality) => modality !== 'embeddings')) {
    return prepareEmbeddings({ model: endpoint.model.id, input: 'ping' }, endpoint, apiKey)
  }
  const request: ChatRequest = { model: endpoint.model.id, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 }
  return adapterFor(endpoint.provider.format).prepare(request, endpoint, apiKey, { stream: false, betas: [] })
}

/** The most of a probe's 200 answer read for an error in it: a one-token answer is far smaller. */
const PROBE_ANSWER_BYTES = 64 * 1024

async function failureInAnswer(response: Response, call: Pick<UpstreamCall, 'errorMessage'>): Promise<Failure | null> {
  const { text } = await readTextUpTo(response, PROBE_ANSWER_BYTES).catch(() => ({ text: '' }))
  try {
    return failureInBody(JSON.parse(text), call, response.headers)
  } catch {
    return null // not JSON (or cut at the bound): no error body, so the answer stands
  }
}

/** A probe's answer counts as traffic's would (gateway/failures.ts), the provider's own faults (a revoked Gemini key's 400) included. */
async function probe(item: Due, at: () => number, fetcher: typeof fetch): Promise<Observation | null> {
  let call: Awaited<ReturnType<typeof ping>>
  try {
    call = await ping(item)
  } catch {
    return null // this endpoint's format cannot express the ping; nothing to learn
  }
  const started = Date.now()
  const observation = (kind: Observation['kind'], ttfbMs: number | null, retryAfter: number | null = null): Observation => ({
    endpoint: item.key,
    kind,
    at: at(),
    ttfbMs,
    tokensPerSecond: null,
    retryAfterMs: retryAfter,
  })
  try {
    const response = await send(call.request, AbortSignal.timeout(PROBE_TIMEOUT_MS), fetcher)
    const ttfbMs = Date.now() - started
    // A 200 may carry an error (OpenRouter's shape for a provider that failed): traffic fails over from it.
    const failure = response.ok ? await failureInAnswer(response, call) : await failureFromResponse(response, call)
    if (failure === null) return observation('success', ttfbMs)
    const kind = observationKind(failure)
    if (kind === null) {
      console.warn(`probe of ${item.key} got HTTP ${response.status}; not counted`)
      return null
    }
    return observation(kind, ttfbMs, retryAfterMs(failure.pauseAsked ?? null, Date.now()))
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
    return observation(timedOut ? 'timeout' : 'connection_error', null)
  }
}

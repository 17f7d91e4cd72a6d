import { worstCaseNano } from '../catalog/pricing'
import type { Endpoint } from '../catalog/snapshot'
import { configOf, type Config } from '../config'
import type { Env } from '../env'
import { GatewayError, type ErrorType } from '../errors'
import { cachesForAnHour, carriesDocuments, estimatePromptTokens, imageCount, imageTokenBound, predictionTokenBound, promptTokenBound } from '../formats/openai/estimate'
import { maxTokensAllowed, type ChatRequest } from '../formats/openai/request'
import { primaryOnly } from '../routing/preferences'
import type { GenerationRecord } from '../tenancy/generation'
import { reservationFor, type Refusal } from '../tenancy/ledger'
import type { Settlement } from '../tenancy/protocol'
import type { RequestOutcome } from './context'
import { requestAdmission, type Asker } from './admissions'
import { deliverSettlement } from './outbox'
import { holdsTickets } from './tickets'

/**
 * The hand-off between the engine and the key's ledger: admission before the first upstream call
 * (the request's one Durable Object round trip, or a ticket the object granted ahead: ./tickets),
 * settlement after the response (in waitUntil, through the outbox: usually carried by the key's
 * next admission).
 */

const REFUSAL_TYPES: Record<number, ErrorType> = {
  401: 'authentication',
  402: 'payment_required',
  403: 'permission_denied',
  429: 'rate_limit_exceeded',
}

/** A refusal of the key's object, as the client's error. */
export function refusalError({ status, message, metadata, headers }: Refusal): GatewayError {
  return new GatewayError(status, REFUSAL_TYPES[status] ?? 'authentication', message, metadata, headers)
}

export interface Admitted {
  /** The plan narrowed to what the key may use. */
  plan: Endpoint[]
  /** The reservation the request settles: its own generation id, or the ticket it took. */
  reservation: string
  /**
   * The most the request may be charged: the worst case of its dearest allowed endpoint, never
   * more than its reservation holds. An upstream that reports more usage than the bounds allow
   * (one that ignores max_tokens, or miscounts) cannot take a key past its limit.
   */
  costCapNano: number
  /**
   * The most tokens its settlement may count against tokens_per_minute: the prompt and output
   * bounds of its largest allowed endpoint. An upstream that miscounts cannot drain the key's
   * bucket for hours.
   */
  tokenCap: number
}

/** The output tokens an endpoint may bill for this request: what it may produce, and a prediction's rejected tokens. */
export function outputBound(request: ChatRequest, endpoint: Endpoint): number {
  const cap = endpoint.spec.maxCompletionTokens
  // Reasoning may raise max_tokens to fit a thinking budget (Anthropic), up to the endpoint's cap.
  const produced = request.reasoning != null || request.reasoning_effort != null ? cap : Math.min(maxTokensAllowed(request) ?? cap, cap)
  return produced + predictionTokenBound(request)
}

/** What admission needs to know of a request, whatever its kind (chat, embeddings). */
export interface TokenBounds {
  /** Never below the true prompt token count at the endpoint: the reservation rests on it. */
  promptBound(endpoint: Endpoint): number
  /** The usual estimate, for token rate buckets. */
  promptEstimate: number
  outputBound(endpoint: Endpoint): number
  /** Whether the request marks a cache breakpoint kept for an hour, whose writes cost more. */
  cachesForAnHour: boolean
}

export function chatBounds(request: ChatRequest): TokenBounds {
  // The text's bound is the same everywhere; an image's depends on the model (imageTokenBound).
  const textBound = promptTokenBound(request, 0)
  const images = request.messages.reduce((sum, message) => sum + imageCount(message), 0)
  const bound = (endpoint: Endpoint) => textBound + images * Math.max(imageTokenBound(endpoint.model.id), imageTokenBound(endpoint.spec.upstreamModel))
  // A file or document may fill the whole window, whatever its bytes.
  const unsized = carriesDocuments(request)
  return {
    // A document's or audio's bytes bound nothing (estimate.ts carriesDocuments); the window does: the provider bills no prompt past it.
    promptBound: (endpoint) => (unsized ? endpoint.contextLength : bound(endpoint)),
    promptEstimate: estimatePromptTokens(request),
    outputBound: (endpoint) => outputBound(request, endpoint),
    cachesForAnHour: cachesForAnHour(request),
  }
}

export function admit(asker: Asker, keyHash: string, input: { id: string; now: number; request: ChatRequest; plan: Endpoint[] }): Promise<Admitted> {
  return admitWithin(asker, keyHash, { id: input.id, now: input.now, plan: input.plan, bounds: chatBounds(input.request), onePerModel: primaryOnly(input.request.provider) })
}

/** Reserves the worst case over the plan's endpoints: every bounded token at each endpoint's dearest price. */
export async function admitWithin(
  asker: Asker,
  keyHash: string,
  /** `onePerModel`: only each model's first allowed endpoint may be tried (`allow_fallbacks: false`, routing/preferences.ts primaryOnly). */
  input: { id: string; now: number; plan: Endpoint[]; bounds: TokenBounds; onePerModel: boolean },
): Promise<Admitted> {
  const { bounds } = input
  const candidates = input.plan.map((endpoint) => ({
    model: endpoint.model.id,
    provider: endpoint.provider.id,
    worstCaseNano: worstCaseNano(bounds.promptBound(endpoint), bounds.outputBound(endpoint), endpoint.prices, bounds.cachesForAnHour),
  }))
  const request = {
    now: input.now,
    candidates,
    promptTokens: bounds.promptEstimate,
    maxAttempts: configOf(asker.env).MAX_ATTEMPTS,
    ...(input.onePerModel ? { onePerModel: true } : {}),
  }
  const admission = await requestAdmission(asker, keyHash, { id: input.id, request })
  if (!admission.ok) throw refusalError(admission.refusal)
  const { allowed, reservation } = admission
  const plan = allowed.flatMap((index) => input.plan[index] ?? [])
  const tokenCap = Math.max(0, ...plan.map((endpoint) => bounds.promptBound(endpoint) + bounds.outputBound(endpoint)))
  return { plan, reservation, costCapNano: reservationFor(request, allowed), tokenCap }
}

export interface RequestFacts {
  id: string
  /** The reservation its settlement replaces (Admitted.reservation). */
  reservation: string
  /** Admitted.tokenCap. */
  tokenCap: number
  createdAt: number
  modelRequested: string
  streamed: boolean
  /** Which API made it, as OpenRouter's generation says (`completions` for chat, messages and responses alike). */
  apiType: 'completions' | 'embeddings'
}

/**
 * The most characters of an upstream's words (an error message, a finish reason) a record keeps:
 * an upstream may send megabytes, and a record past the key's storage limit for one value would
 * fail its whole settlement, and the others stored with it.
 */
const RECORD_ERROR_CHARS = 4096
const RECORD_WORD_CHARS = 256

function clipped<T extends string | null>(text: T, max: number): T {
  return (text !== null && text.length > max ? `${text.slice(0, max - 1)}…` : text) as T
}

export function generationRecord(facts: RequestFacts, outcome: RequestOutcome, now: number): GenerationRecord {
  const usage = outcome.report?.usage
  return {
    id: facts.id,
    created_at: facts.createdAt,
    model_requested: clipped(facts.modelRequested, RECORD_WORD_CHARS),
    api_type: facts.apiType,
    model: outcome.endpoint?.model.id ?? null,
    provider: outcome.endpoint?.provider.id ?? null,
    provider_name: outcome.endpoint?.provider.name ?? null,
    streamed: facts.streamed,
    cancelled: outcome.status === 'cancelled',
    status: outcome.status,
    http_status: outcome.httpStatus,
    finish_reason: outcome.finishReason,
    native_finish_reason: clipped(outcome.nativeFinishReason, RECORD_WORD_CHARS),
    tokens_prompt: usage?.promptTokens ?? 0,
    tokens_completion: usage?.completionTokens ?? 0,
    tokens_cached: usage?.cachedTokens ?? 0,
    tokens_reasoning: usage?.reasoningTokens ?? 0,
    usage_estimated: outcome.report?.estimated ?? false,
    cost_nano: outcome.report?.costNano ?? 0,
    latency_ms: now - facts.createdAt,
    ttfb_ms: outcome.ttfbMs,
    attempts: outcome.attempts,
    error: clipped(outcome.error, RECORD_ERROR_CHARS),
  }
}

/**
 * Replaces the reservation with the real cost (see ./outbox for how it travels). If it never
 * arrives, the reservation expires by alarm and is charged in full, so spend is never lost.
 */
export function settle(env: Env, keyHash: string, facts: RequestFacts, outcome: RequestOutcome, now: number): Promise<void> {
  const usage = outcome.report?.usage
  const settlement: Settlement = {
    id: facts.id,
    ...(facts.reservation === facts.id ? {} : { reservation: facts.reservation }),
    now,
    costNano: outcome.report?.costNano ?? 0,
    tokens: usage ? Math.min(usage.promptTokens + usage.completionTokens, facts.tokenCap) : 0,
    record: JSON.stringify(generationRecord(facts, outcome, now)),
  }
  return deliverSettlement(env, keyHash, settlement, settlementLinger(configOf(env), keyHash))
}

/** How long a settlement of the key waits for an admission to carry it (longer while this isolate holds its tickets). */
export function settlementLinger(config: Config, keyHash: string): number {
  return holdsTickets(keyHash) ? config.SETTLE_LINGER_BUSY_MS : config.SETTLE_LINGER_MS
}

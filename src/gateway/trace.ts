import type { RouteTrace } from '../routing/plan'
import type { AllowLists } from '../tenancy/ledger'
import { allowsEndpoint } from '../tenancy/policy'
import type { AttemptRecord } from './attempts'
import type { ExecutionContext } from './context'

/**
 * The trace as a key may see it: only the endpoints its allow-lists let it use, among the
 * candidates and in what each filter removed, as GET /models/user shows the catalog.
 */
export function traceWithin(trace: RouteTrace, lists: AllowLists): RouteTrace {
  const usableKey = (key: string) => {
    const at = key.lastIndexOf('@')
    return allowsEndpoint(lists, key.slice(0, at), key.slice(at + 1))
  }
  return {
    ...trace,
    filtered: trace.filtered.map((step) => ({ ...step, removed: step.removed.filter(usableKey) })),
    candidates: trace.candidates.filter((candidate) => allowsEndpoint(lists, candidate.model, candidate.provider)),
  }
}

/**
 * The routing trace added to a response body when the client asked for it (traceWithin the key's
 * lists): Meridian's own `meridian_route` (candidates with their scores, what each filter removed,
 * every attempt), and OpenRouter's `openrouter_metadata` summary for clients that send
 * `X-OpenRouter-Metadata: enabled`, with every field OpenRouter's SDK requires (an attempt that got
 * no HTTP status has status 0).
 */
export function routeDebug(ctx: Pick<ExecutionContext, 'trace'>, attempts: AttemptRecord[]): Record<string, unknown> {
  const trace = ctx.trace
  if (!trace) return {}
  const served = attempts.find((attempt) => attempt.outcome === 'success')
  return {
    meridian_route: { ...trace, attempts },
    openrouter_metadata: {
      requested: trace.requested_models[0] ?? '',
      strategy: trace.strategy,
      region: trace.client?.colo ?? null,
      summary: served ? `Served by ${served.provider} (${served.model}) on attempt ${attempts.indexOf(served) + 1} of ${attempts.length}` : `Not served after ${attempts.length} attempts`,
      is_byok: false,
      attempt: attempts.length,
      attempts: attempts.map((attempt) => ({ provider: attempt.provider, model: attempt.model, status: attempt.status ?? 0, outcome: attempt.outcome })),
      endpoints: {
        total: trace.candidates.length,
        available: trace.candidates.map((candidate) => ({
          provider: candidate.provider,
          model: candidate.model,
          selected: served !== undefined && served.provider === candidate.provider && served.model === candidate.model,
        })),
      },
    },
  }
}

import type { AttemptRecord } from './attempts'
import type { ExecutionContext } from './context'

/**
 * The routing trace added to a response body when the client asked for it: Meridian's own
 * `meridian_route` (candidates with their scores, what each filter removed, every attempt), and
 * OpenRouter's `openrouter_metadata` summary for clients that send `X-OpenRouter-Metadata: enabled`,
 * with every field OpenRouter's SDK requires (an attempt that got no HTTP status has status 0).
 * The candidates are those the key may use: its allow-lists keep the others out of sight, as
 * GET /models/user does.
 */
export function routeDebug(ctx: Pick<ExecutionContext, 'trace' | 'plan'>, attempts: AttemptRecord[]): Record<string, unknown> {
  if (!ctx.trace) return {}
  const usable = new Set(ctx.plan.map((endpoint) => `${endpoint.model.id}@${endpoint.provider.id}`))
  const trace = { ...ctx.trace, candidates: ctx.trace.candidates.filter((candidate) => usable.has(`${candidate.model}@${candidate.provider}`)) }
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

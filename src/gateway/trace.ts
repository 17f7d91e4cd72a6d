import type { AttemptRecord } from './attempts'
import type { ExecutionContext } from './context'

/**
 * The routing trace added to a response body when the client asked for it: Meridian's own
 * `meridian_route` (candidates with their scores, what each filter removed, every attempt), and
 * OpenRouter's `openrouter_metadata` summary for clients that send `X-OpenRouter-Metadata: enabled`.
 */
export function routeDebug(ctx: Pick<ExecutionContext, 'trace'>, attempts: AttemptRecord[]): Record<string, unknown> {
  const trace = ctx.trace
  if (!trace) return {}
  const served = attempts.find((attempt) => attempt.outcome === 'success')
  return {
    meridian_route: { ...trace, attempts },
    openrouter_metadata: {
      requested: trace.requested_models[0] ?? null,
      strategy: trace.strategy,
      region: trace.client?.colo ?? null,
      attempt: attempts.length,
      attempts: attempts.map((attempt) => ({ provider: attempt.provider, model: attempt.model, status: attempt.status, outcome: attempt.outcome })),
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

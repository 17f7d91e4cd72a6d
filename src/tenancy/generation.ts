import * as z from 'zod'

/**
 * A generation id: `gen-<unix seconds>-<suffix>`. Ids sort by creation time, to the second (the
 * seconds have ten digits from 2001 to 2286), so the key object prunes its records by id, with no
 * separate index by time.
 */
export function generationId(createdSeconds: number, suffix: string): string {
  return `gen-${createdSeconds}-${suffix}`
}

/** The first second with a ten-digit count (2001-09-09): no generation id has an earlier one. */
const FIRST_ID_SECOND = 1_000_000_000

/** When a generation was created (to the second), from its id; null for an id of another shape. */
export function createdAtOfId(id: string): number | null {
  const seconds = /^gen-(\d+)-/.exec(id)?.[1]
  return seconds === undefined ? null : Number(seconds) * 1000
}

/**
 * Every generation created before `ms` (to the second) has an id that sorts below this, and none
 * created at or after it does. Before 2001 that is no id at all: "gen-" sorts below every one.
 */
export function generationIdsFrom(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  return seconds < FIRST_ID_SECOND ? 'gen-' : `gen-${seconds}`
}

/**
 * What the gateway remembers of every request, kept in the key's Durable Object (SQLite) for
 * GET /generation. Written at settlement, off the hot path.
 */
export const AttemptSchema = z.object({
  provider: z.string(),
  model: z.string(),
  outcome: z.string(),
  status: z.number().nullable(),
  latencyMs: z.number(),
})

export const GenerationRecordSchema = z.object({
  id: z.string(),
  /** Unix ms when the request arrived. */
  created_at: z.number(),
  model_requested: z.string(),
  /** Records from before it was kept were all chat's. */
  api_type: z.enum(['completions', 'embeddings']).default('completions'),
  /** The catalog model that served (after fallback); null when nothing served. */
  model: z.string().nullable(),
  provider: z.string().nullable(),
  provider_name: z.string().nullable(),
  streamed: z.boolean(),
  cancelled: z.boolean(),
  status: z.enum(['success', 'error', 'cancelled']),
  http_status: z.number(),
  finish_reason: z.string().nullable(),
  native_finish_reason: z.string().nullable(),
  tokens_prompt: z.number(),
  tokens_completion: z.number(),
  tokens_cached: z.number(),
  tokens_reasoning: z.number(),
  usage_estimated: z.boolean(),
  cost_nano: z.number(),
  latency_ms: z.number(),
  ttfb_ms: z.number().nullable(),
  attempts: z.array(AttemptSchema),
  error: z.string().nullable(),
})
export type GenerationRecord = z.infer<typeof GenerationRecordSchema>

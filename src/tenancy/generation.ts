import { z } from 'zod'

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

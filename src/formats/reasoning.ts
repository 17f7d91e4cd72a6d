import * as z from 'zod'

/** OpenRouter's reasoning efforts (`reasoning.effort`, or OpenAI's top-level `reasoning_effort`). */
export const Effort = z.enum(['max', 'xhigh', 'high', 'medium', 'low', 'minimal', 'none'])
export type Effort = z.infer<typeof Effort>
/** An effort that asks for reasoning. */
export type ReasoningLevel = Exclude<Effort, 'none'>

/**
 * The share of the answer's `max_tokens` an effort gives to thinking on a model that takes a token
 * budget, as OpenRouter documents it (high about 80%, medium 50%, low 20%, minimal 10%).
 */
export const EFFORT_SHARE: Record<ReasoningLevel, number> = { max: 0.95, xhigh: 0.95, high: 0.8, medium: 0.5, low: 0.2, minimal: 0.1 }

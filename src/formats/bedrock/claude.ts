import type { ChatRequest } from '../openai/request'
import { claudeThinking } from '../anthropic/details'
import { applyThinking, reasoningOf } from '../anthropic/thinking'

/**
 * Claude on Bedrock: what Anthropic's API takes and Converse has no field for rides in
 * `additionalModelRequestFields`, which Bedrock hands to the model as it is: `top_k`, and extended
 * thinking by the same rules as on Anthropic's API (../anthropic/thinking.ts). Its thinking comes
 * back as `reasoningContent` blocks, signed or redacted, and must be replayed the same way to
 * continue a tool-use turn with thinking on. Anthropic documents signatures as valid across its
 * API, Bedrock and Vertex, so signed thinking may move between them; whether a redacted block's
 * bytes do is not documented, and it is replayed as it came.
 */

type Body = Record<string, unknown>
type Block = Record<string, unknown>
type Turn = { role: 'user' | 'assistant'; content: Block[] }

/** Bedrock ids of Claude: `anthropic.claude-…`, a cross-region profile (`us.anthropic.claude-…`), or an ARN naming one. */
export function isClaude(upstreamModel: string): boolean {
  return /anthropic\.claude|claude-/i.test(upstreamModel)
}

/**
 * An assistant message's `reasoning_details` (Claude's, as Meridian gave them out) → the
 * `reasoningContent` blocks that open its Converse turn. A thinking block without a signature is
 * refused upstream, so it is dropped.
 */
export function reasoningBlocks(details: unknown): Block[] {
  return claudeThinking(details).flatMap((block): Block[] => {
    if (block.type === 'redacted_thinking') return [{ reasoningContent: { redactedContent: block.data } }]
    return block.signature ? [{ reasoningContent: { reasoningText: { text: block.thinking, signature: block.signature } } }] : []
  })
}

export interface ClaudeOptions {
  upstreamModel: string
  /** The endpoint's output cap: a thinking budget may raise max_tokens up to it. */
  maxTokensCap: number
}

/**
 * Applies Claude's own fields to a Converse body built from `request`: `top_k` and thinking. Thinking
 * is held back where Anthropic refuses it: with a forced tool, an assistant prefill, or a tool-use
 * turn being continued whose assistant turn lost its reasoning.
 */
export function applyClaudeFields(request: ChatRequest, body: Body, options: ClaudeOptions & { maxTokens: number | undefined }): void {
  const inference = (body.inferenceConfig ?? {}) as Body
  // Anthropic's names, so thinking.ts's rules apply unchanged; mapped back below.
  const fields: Body = { temperature: inference.temperature, top_p: inference.topP, top_k: request.top_k ?? undefined }
  const maxTokens = options.maxTokens ?? options.maxTokensCap
  applyThinking(fields, reasoningOf(request), {
    upstreamModel: options.upstreamModel,
    maxTokens,
    maxTokensCap: Math.max(options.maxTokensCap, maxTokens),
    blocked: thinkingBlocked(body.messages as Turn[], (body.toolConfig as Body | undefined)?.toolChoice as Body | undefined),
  })
  setOrDelete(inference, 'temperature', fields.temperature)
  setOrDelete(inference, 'topP', fields.top_p)
  const additional: Body = {}
  if (fields.top_k != null) additional.top_k = fields.top_k
  if (fields.thinking) {
    additional.thinking = fields.thinking
    // A budget needs max_tokens above it: applyThinking set one, raised where it had to be.
    if (typeof fields.max_tokens === 'number') inference.maxTokens = fields.max_tokens
  }
  // Without one, Converse caps Claude at 4,096 output tokens (not the model's most, as AWS
  // documents): Claude gets the client's or the endpoint's cap, as on Anthropic's API.
  inference.maxTokens ??= maxTokens
  // output_config (an adaptive model's effort) is beta-gated on Bedrock, so it is not sent.
  if (Object.keys(inference).length) body.inferenceConfig = inference
  else delete body.inferenceConfig
  if (Object.keys(additional).length) body.additionalModelRequestFields = additional
  // Which stop sequence matched comes back only when asked for (Anthropic's own field, by path).
  if (Array.isArray(inference.stopSequences) && inference.stopSequences.length) body.additionalModelResponseFieldPaths = ['/stop_sequence']
}

function setOrDelete(object: Body, key: string, value: unknown): void {
  if (value === undefined) delete object[key]
  else object[key] = value
}

function thinkingBlocked(turns: Turn[], toolChoice: Body | undefined): boolean {
  if (toolChoice && ('any' in toolChoice || 'tool' in toolChoice)) return true
  const last = turns.at(-1)
  if (last?.role === 'assistant') return true
  const previous = turns.at(-2)
  const continuing = last?.content.some((block) => 'toolResult' in block) && previous?.role === 'assistant'
  return Boolean(continuing && previous?.content.some((block) => 'toolUse' in block) && !('reasoningContent' in (previous?.content[0] ?? {})))
}

import * as z from 'zod'
import { type AssistantMessage, BilledTokenCount, type Completion, type FinishReason, hiddenField, type TokenUsage, usageWithSeparateCache, finishWithCalls } from '../canonical'
import { isInterleaved, withBlockOrder, type BlockKind } from '../block-order'
import { encryptedDetail, textDetail, type ReasoningDetail } from '../anthropic/details'
import type { ToolCall } from '../openai/request'

/**
 * Bedrock Converse response (validated at the boundary) → the canonical Completion. The usage
 * schema and the stop-reason map are shared with the stream decoder.
 */

/** Read with `.nullish().catch(null)`: see BilledTokenCount. */
export const BedrockUsage = z.looseObject({
  inputTokens: BilledTokenCount.nullish(),
  outputTokens: BilledTokenCount.nullish(),
  cacheReadInputTokens: BilledTokenCount.nullish(),
  cacheWriteInputTokens: BilledTokenCount.nullish(),
  /** The writes by how long they are kept (`5m`, `1h`): an hour's cost more. */
  cacheDetails: z.array(z.looseObject({ ttl: z.string(), inputTokens: BilledTokenCount })).nullish().catch(null),
})
export type BedrockUsage = z.infer<typeof BedrockUsage>

const Block = z.looseObject({
  text: z.string().nullish(),
  toolUse: z.looseObject({ toolUseId: z.string(), name: z.string(), input: z.unknown() }).nullish(),
  reasoningContent: z
    .looseObject({
      reasoningText: z.looseObject({ text: z.string().nullish(), signature: z.string().nullish() }).nullish(),
      redactedContent: z.string().nullish(),
    })
    .nullish(),
})

/** Claude's own response fields asked for by path: which stop sequence matched (./claude.ts). */
export const AdditionalFields = z.looseObject({ stop_sequence: z.string().nullish() }).nullish().catch(null)

const ConverseResponse = z.looseObject({
  output: z.looseObject({ message: z.looseObject({ content: z.array(Block) }) }),
  stopReason: z.string(),
  usage: BedrockUsage.nullish().catch(null),
  additionalModelResponseFields: AdditionalFields,
})

const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
  // The model's call (or answer) could not be parsed: the turn did not end, as Gemini's MALFORMED_FUNCTION_CALL.
  malformed_tool_use: 'error',
  malformed_model_output: 'error',
}

/**
 * The calls the client gets decide between `tool_calls` and `stop`, as for OpenAI-format upstreams:
 * some Converse models (OpenAI's gpt-oss) end a turn that calls tools with `end_turn`, others one
 * without calls with `tool_use`, and a turn that called only the structured-output tool
 * (../json-tool.ts) ended normally.
 */
export function bedrockFinishReason(native: string | null, toolCalls: number): FinishReason {
  return finishWithCalls((native && STOP_REASONS[native]) || 'stop', toolCalls)
}

export function usageFromBedrock(usage: BedrockUsage): TokenUsage | null {
  return usageWithSeparateCache({
    input: usage.inputTokens,
    output: usage.outputTokens,
    cacheRead: usage.cacheReadInputTokens,
    cacheWrite: usage.cacheWriteInputTokens,
    cacheWrite1h: usage.cacheDetails?.reduce((sum, detail) => sum + (detail.ttl === '1h' ? detail.inputTokens : 0), 0),
  })
}

/** What the decoders need from the request. */
export interface BedrockDecodeOptions {
  /** The model is Claude: its reasoning blocks also become `reasoning_details`, signed, for the client to send back. */
  claude?: boolean
  /** reasoning.exclude: the answer leaves the reasoning out. */
  excludeReasoning?: boolean
  /** The structured-output tool's name (../json-tool.ts): its input is the answer's content. */
  jsonTool?: string | null
}

/** Parses a non-streaming Converse body; throws a ZodError on garbage. */
export function fromBedrock(body: unknown, options: BedrockDecodeOptions = {}): Completion {
  const parsed = ConverseResponse.parse(body)
  let text = ''
  let reasoning = ''
  const details: ReasoningDetail[] = []
  const toolCalls: ToolCall[] = []
  const kinds: BlockKind[] = []
  const texts: string[] = []
  let json: string | null = null
  for (const block of parsed.output.message.content) {
    // The first call is the answer (a model may call the JSON tool more than once).
    if (block.toolUse && block.toolUse.name === options.jsonTool) json ??= JSON.stringify(block.toolUse.input ?? {})
    else if (block.toolUse) {
      const { toolUseId, name, input } = block.toolUse
      toolCalls.push({ id: toolUseId, type: 'function', function: { name, arguments: JSON.stringify(input ?? {}) } })
      kinds.push('tool')
    } else if (block.reasoningContent) {
      const { reasoningText, redactedContent } = block.reasoningContent
      reasoning += reasoningText?.text ?? ''
      if (reasoningText) details.push(textDetail(details.length, reasoningText.text ?? '', reasoningText.signature ?? null))
      else if (redactedContent) details.push(encryptedDetail(details.length, redactedContent))
      if (reasoningText || redactedContent) kinds.push('reasoning')
    } else if (block.text) {
      text += block.text
      texts.push(block.text)
      kinds.push('text')
    }
  }
  const shown = !options.excludeReasoning
  // Claude's interleaved thinking keeps its place for a Messages API client (../block-order).
  const interleaved = shown && options.claude && json === null && isInterleaved(kinds)
  const ordered = (message: AssistantMessage) => (interleaved ? withBlockOrder(message, { kinds, texts: { blocks: texts, joined: text } }) : message)
  return {
    message: ordered({
      role: 'assistant',
      // Text beside the JSON answer (a preamble) would make the content unparseable as JSON.
      content: json ?? (text || null),
      refusal: null,
      ...(shown && reasoning ? { reasoning } : {}),
      ...(shown && options.claude && details.length ? { reasoning_details: details } : {}),
      ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
      ...matchedStop(parsed.stopReason, parsed.additionalModelResponseFields),
    }),
    finishReason: bedrockFinishReason(parsed.stopReason, toolCalls.length),
    nativeFinishReason: parsed.stopReason,
    usage: parsed.usage ? usageFromBedrock(parsed.usage) : null,
    ...hiddenField((shown ? 0 : reasoning.length) + (json !== null ? text.length : 0)),
  }
}

/** The stop sequence that ended the answer, where Claude said which (the message's `stop_sequence`). */
export function matchedStop(stopReason: string, fields: z.infer<typeof AdditionalFields>): { stop_sequence?: string } {
  return stopReason === 'stop_sequence' && fields?.stop_sequence != null ? { stop_sequence: fields.stop_sequence } : {}
}

const BedrockError = z.looseObject({ message: z.string().optional(), Message: z.string().optional() })

/** AWS error bodies are `{ "message": … }` (the error type travels in `x-amzn-errortype`). */
export function bedrockErrorMessage(body: unknown): string | null {
  const parsed = BedrockError.safeParse(body)
  return parsed.success ? (parsed.data.message ?? parsed.data.Message ?? null) : null
}

/**
 * The ValidationExceptions that name the catalog's model, not the request: an id Bedrock does not
 * know, or one that must be called through an inference profile ("Invocation of model ID … with
 * on-demand throughput isn't supported").
 */
const MODEL_ID_FAULT = /model identifier is invalid|on-demand throughput isn.t supported/i

/**
 * Converse's 4xx answers that are Bedrock's own or our account's: a 424 (ModelErrorException, the
 * model failed), a 400 ServiceQuotaExceededException (its type in `x-amzn-errortype`, as
 * "ServiceQuotaExceededException:http://internal…"), and a 400 about the endpoint's model id
 * (MODEL_ID_FAULT). Another provider may serve the request.
 */
export function bedrockProviderFault(status: number, body: unknown, headers: Headers): boolean {
  if (status === 424) return true
  const type = headers.get('x-amzn-errortype')?.split(':')[0]?.trim()
  return type === 'ServiceQuotaExceededException' || (status === 400 && MODEL_ID_FAULT.test(bedrockErrorMessage(body) ?? ''))
}

import { nanoToUsd } from '../../catalog/pricing'
import type { AssistantMessage, Completion, FinishReason } from '../canonical'
import { blockOrder, isInterleaved, placed, sentTexts } from '../block-order'
import type { ToolCall } from '../openai/request'
import type { ResponseMeta, UsageReport } from '../openai/render'
import { customInput } from '../custom-tools'
import { encryptedContent } from './reasoning-content'
import { customToolNames, type ResponsesRequest } from './request'

/**
 * Canonical results → OpenAI Responses API objects for POST /v1/responses: the `response` object
 * with its output items (reasoning, message, function calls), and its stream of typed events
 * (./stream); ./renderer puts them together. Meridian extras the SDKs ignore ride along:
 * `provider` and `usage.cost` (USD).
 */

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed'

/** OpenAI's usage: input tokens include cached ones; cost is Meridian's. */
export function responsesUsage({ usage, costNano }: UsageReport) {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cachedTokens, cache_write_tokens: usage.cacheWriteTokens },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.promptTokens + usage.completionTokens,
    cost: nanoToUsd(costNano),
  }
}

/** An upstream that ended its answer with `finish_reason: "error"` and no more said. */
export const FINISHED_WITH_ERROR = { code: 'server_error', message: 'The provider ended the answer with an error' }

/** How a finished answer ended, in the Responses API's words. */
export function ending(finish: FinishReason): {
  status: ResponseStatus
  incomplete_details: { reason: string } | null
  error: { code: string; message: string } | null
} {
  if (finish === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, error: null }
  if (finish === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' }, error: null }
  if (finish === 'error') return { status: 'failed', incomplete_details: null, error: FINISHED_WITH_ERROR }
  return { status: 'completed', incomplete_details: null, error: null }
}

/** An output item's id: its kind's prefix, the response's generation id, and its place in the output. */
export const itemId = (meta: ResponseMeta, prefix: 'msg' | 'rs' | 'fc' | 'ctc', outputIndex: number) => `${prefix}_${meta.id}_${outputIndex}`

type Annotation = Record<string, unknown>

/** Chat's nested url citations (OpenRouter's web results) → the Responses API's flat ones. */
export function annotationsOf(value: unknown): Annotation[] {
  if (!Array.isArray(value)) return []
  return value.flatMap((annotation: unknown) => {
    if (typeof annotation !== 'object' || annotation === null) return []
    const { type, url_citation: citation } = annotation as { type?: unknown; url_citation?: Record<string, unknown> }
    if (type !== 'url_citation' || typeof citation !== 'object' || citation === null) return []
    const { url, title, start_index, end_index } = citation
    if (typeof url !== 'string') return []
    return [{ type: 'url_citation', url, title: title ?? '', start_index: start_index ?? 0, end_index: end_index ?? 0 }]
  })
}

export const outputText = (text: string, annotations: Annotation[] = []) => ({ type: 'output_text', text, annotations, logprobs: [] })

/** A reasoning item: its text as the summary, and its `reasoning_details` to replay as encrypted content (./reasoning-content). */
export function reasoningItem(id: string, text: string, details: unknown) {
  const encrypted = encryptedContent(details)
  return { type: 'reasoning', id, summary: text ? [{ type: 'summary_text', text }] : [], ...(encrypted ? { encrypted_content: encrypted } : {}) }
}

export const messageItem = (id: string, status: ResponseStatus, content: object[]) => ({ type: 'message', id, status, role: 'assistant', content })

export const functionCallItem = (id: string, call: { id: string; name: string; arguments: string }, status: ResponseStatus) => ({
  type: 'function_call',
  id,
  call_id: call.id,
  name: call.name,
  arguments: call.arguments,
  status,
})

/** A custom tool's call (formats/custom-tools.ts): its text, from the function call the provider made. */
export const customToolCallItem = (id: string, call: { id: string; name: string; arguments: string }, status: ResponseStatus) => ({
  type: 'custom_tool_call',
  id,
  call_id: call.id,
  name: call.name,
  input: customInput(call.arguments),
  status,
})

function outputItems(meta: ResponseMeta, message: AssistantMessage, status: ResponseStatus, custom: ReadonlySet<string>): object[] {
  const items: object[] = []
  const next = (prefix: 'msg' | 'rs' | 'fc' | 'ctc') => itemId(meta, prefix, items.length)
  // A part cut off by the length limit is incomplete, like the response.
  const partStatus = status === 'completed' ? 'completed' : 'incomplete'
  const callItem = (call: ToolCall) => {
    const fields = { id: call.id, ...call.function }
    return custom.has(fields.name) ? customToolCallItem(next('ctc'), fields, partStatus) : functionCallItem(next('fc'), fields, partStatus)
  }
  const interleaved = interleavedBlocks(message)
  if (interleaved) {
    for (const run of interleaved) {
      if (run.kind === 'tool') items.push(callItem(run.call))
      else if (run.kind === 'text') items.push(messageItem(next('msg'), partStatus, [outputText(run.text)]))
      else items.push(reasoningItem(next('rs'), run.text, run.details))
    }
    return items
  }
  const details = message.reasoning_details
  if (message.reasoning || (Array.isArray(details) && details.length)) items.push(reasoningItem(next('rs'), message.reasoning ?? '', details))
  const content: object[] = []
  if (message.content) content.push(outputText(message.content, annotationsOf(message.annotations)))
  if (message.refusal) content.push({ type: 'refusal', refusal: message.refusal })
  if (content.length) items.push(messageItem(next('msg'), partStatus, content))
  for (const call of message.tool_calls ?? []) items.push(callItem(call))
  // An answer with nothing in it is still one message, so output_text reads as "" (streamed alike).
  if (!items.length) items.push(messageItem(next('msg'), partStatus, [outputText('')]))
  return items
}

type Run = { kind: 'reasoning'; text: string; details: unknown[] } | { kind: 'text'; text: string } | { kind: 'tool'; call: ToolCall }

/**
 * Claude's interleaved thinking (`[thinking, tool_use, thinking, tool_use]`, ../block-order.ts) as
 * the items it streams as: a reasoning item per run of thinking blocks, a message per run of text,
 * each call its own, so a client that sends the output back sends the turn in its order. Null for
 * any other answer (or one with a refusal or annotations, which the order does not place).
 */
function interleavedBlocks(message: AssistantMessage): Run[] | null {
  const order = blockOrder(message)
  if (!order || !isInterleaved(order.kinds) || message.refusal || annotationsOf(message.annotations).length) return null
  const details = Array.isArray(message.reasoning_details) ? message.reasoning_details : []
  const texts = sentTexts(message) ?? (message.content ? [message.content] : [])
  const blocks = placed<Run>(order, {
    reasoning: details.map((detail) => ({ kind: 'reasoning', text: reasoningText(detail), details: [detail] })),
    text: texts.map((text) => ({ kind: 'text', text })),
    tool: (message.tool_calls ?? []).map((call) => ({ kind: 'tool', call })),
  })
  if (!blocks) return null
  const runs: Run[] = []
  for (const block of blocks) {
    const last = runs.at(-1)
    if (last?.kind === 'reasoning' && block.kind === 'reasoning') runs[runs.length - 1] = { ...last, text: last.text + block.text, details: [...last.details, ...block.details] }
    else if (last?.kind === 'text' && block.kind === 'text') runs[runs.length - 1] = { ...last, text: last.text + block.text }
    else runs.push(block)
  }
  return runs
}

/** A reasoning detail's readable text (a redacted block has none). */
function reasoningText(detail: unknown): string {
  const entry = detail as { type?: unknown; text?: unknown } | null
  return entry?.type === 'reasoning.text' && typeof entry.text === 'string' ? entry.text : ''
}

/** Keeps a finished response object (in the key's object); resolves false if it could not. */
export type Keep = (response: { id: string }) => Promise<boolean>

/** The `response` object's fields that echo the request, as OpenAI's do; `store` says whether it is to be kept. */
export function responseEnvelope(meta: ResponseMeta, request: ResponsesRequest, store: boolean) {
  return {
    id: meta.id,
    object: 'response',
    created_at: meta.created,
    model: meta.model,
    provider: meta.provider,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    metadata: request.metadata ?? {},
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: request.reasoning?.summary ?? null },
    store,
    temperature: request.temperature ?? null,
    text: { format: request.text?.format ?? { type: 'text' }, ...(request.text?.verbosity ? { verbosity: request.text.verbosity } : {}) },
    tool_choice: request.tool_choice ?? 'auto',
    tools: request.tools ?? [],
    top_p: request.top_p ?? null,
    // OpenRouter's Responses object has these (its SDK requires them); they pass through to the model.
    frequency_penalty: typeof request.frequency_penalty === 'number' ? request.frequency_penalty : null,
    presence_penalty: typeof request.presence_penalty === 'number' ? request.presence_penalty : null,
    truncation: request.truncation ?? 'disabled',
    user: request.user ?? null,
  }
}

/** When a response ended, in Unix seconds, as OpenAI gives it: only once it completed. */
export function completedAt(status: string): number | null {
  return status === 'completed' ? Math.floor(Date.now() / 1000) : null
}

/** A finished response, once kept if it is to be: `store` then says whether it was. */
export async function kept<T extends { id: string; store: boolean }>(response: T, keep: Keep | null): Promise<T> {
  if (!keep) return response
  return (await keep(response).catch(() => false)) ? response : { ...response, store: false }
}

export function renderResponse(meta: ResponseMeta, completion: Completion, report: UsageReport, request: ResponsesRequest, store: boolean) {
  const { status, incomplete_details, error } = ending(completion.finishReason)
  return {
    ...responseEnvelope(meta, request, store),
    status,
    completed_at: completedAt(status),
    error,
    incomplete_details,
    output: outputItems(meta, completion.message, status, customToolNames(request)),
    usage: responsesUsage(report),
  }
}

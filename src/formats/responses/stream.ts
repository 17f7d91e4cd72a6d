import type { GatewayError } from '../../errors'
import type { RenderedEvent, StreamWriter } from '../../gateway/renderer'
import type { FinishReason, ToolCallDelta } from '../canonical'
import type { ResponseMeta } from '../openai/render'
import { isWholeArguments } from '../openai/request'
import { sseEvent } from '../sse'
import { failureCode } from './errors'
import { customInput } from '../custom-tools'
import {
  annotationsOf,
  customToolCallItem,
  ending,
  functionCallItem,
  itemId,
  kept,
  messageItem,
  outputText,
  reasoningItem,
  responseEnvelope,
  completedAt,
  responsesUsage,
  type Keep,
  type ResponseStatus,
} from './render'
import { customToolNames, type ResponsesRequest } from './request'

/**
 * One streamed Responses answer: typed events, each named by its `type` and numbered by
 * `sequence_number`. `response.created` and `response.in_progress` open it; each output item is
 * added, filled by deltas and done; `response.completed` (or `.incomplete`, or `.failed` after an
 * upstream failure) closes it with the whole response, usage and cost included, once the
 * response is kept if it is to be (`keep`). There is no `[DONE]`.
 *
 * Canonical deltas interleave reasoning, text and tool-call fragments; one item is open at a time,
 * as at OpenAI, so a change of kind (or a new call) closes the open item and adds the next. One
 * exception: a call whose arguments are not yet whole JSON when the next item starts (an upstream
 * that interleaves parallel calls' fragments, or text after a call that streamed none, whose `{}`
 * an OpenAI-format decoder adds at the finish) stays open beside it, so that its done events carry
 * its whole arguments; a call still without any when the response ends is done with `{}`. A
 * fragment of a call already done (more after its whole JSON) still reaches it: its delta names
 * that call's item, and the final response carries the whole arguments. A custom tool's call
 * (formats/custom-tools.ts) sends its text in one delta as it closes, since the provider streams it inside
 * JSON arguments.
 */

interface OpenPart {
  type: 'output_text' | 'refusal'
  text: string
  annotations: Record<string, unknown>[]
}

interface OpenCall {
  index: number
  id: string
  call: { id: string; name: string; arguments: string }
  custom: boolean
}

export function createResponseStream(meta: ResponseMeta, request: ResponsesRequest, keep: Keep | null): StreamWriter {
  let sequence = 0
  let started = false
  let failure: GatewayError | null = null
  let finish: FinishReason = 'stop'
  /** Finished items at their output index. */
  const output: object[] = []
  /** The open reasoning item: its text, and its `reasoning_details` fragments (replayed from encrypted_content). */
  let reasoning: { index: number; id: string; text: string; details: unknown[] } | null = null
  let message: { index: number; id: string; parts: OpenPart[] } | null = null
  /** Every call by its canonical index; `openCalls` are those not done, in the order they opened. */
  const calls = new Map<number, OpenCall>()
  let openCalls: OpenCall[] = []

  const custom = customToolNames(request)
  const emit = (type: string, fields: object) => sseEvent(type, { type, sequence_number: sequence++, ...fields })
  const callItem = (open: OpenCall, status: ResponseStatus) => (open.custom ? customToolCallItem(open.id, open.call, status) : functionCallItem(open.id, open.call, status))
  const envelope = () => responseEnvelope(meta, request, keep !== null)

  const start = (): Uint8Array[] => {
    if (started) return []
    started = true
    const response = { ...envelope(), status: 'in_progress', completed_at: null, error: null, incomplete_details: null, output: [], usage: null }
    return [emit('response.created', { response }), emit('response.in_progress', { response })]
  }

  const closeReasoning = (): Uint8Array[] => {
    if (!reasoning) return []
    const { index, id, text, details } = reasoning
    reasoning = null
    const item = reasoningItem(id, text, details)
    output[index] = item
    const at = { item_id: id, output_index: index, summary_index: 0 }
    const summary = text
      ? [emit('response.reasoning_summary_text.done', { ...at, text }), emit('response.reasoning_summary_part.done', { ...at, part: { type: 'summary_text', text } })]
      : []
    return [...summary, emit('response.output_item.done', { output_index: index, item })]
  }

  const partDone = (part: OpenPart): object => (part.type === 'refusal' ? { type: 'refusal', refusal: part.text } : outputText(part.text, part.annotations))

  const closePart = (): Uint8Array[] => {
    const part = message?.parts.at(-1)
    if (!message || !part) return []
    const at = { item_id: message.id, output_index: message.index, content_index: message.parts.length - 1 }
    const done = part.type === 'refusal' ? emit('response.refusal.done', { ...at, refusal: part.text }) : emit('response.output_text.done', { ...at, text: part.text, logprobs: [] })
    return [done, emit('response.content_part.done', { ...at, part: partDone(part) })]
  }

  const closeMessage = (status: ResponseStatus): Uint8Array[] => {
    if (!message) return []
    const events = closePart()
    const { index, id, parts } = message
    message = null
    const item = messageItem(id, status, parts.map(partDone))
    output[index] = item
    return [...events, emit('response.output_item.done', { output_index: index, item })]
  }

  /** Closes the open calls, or (`wholeOnly`) those whose arguments are whole JSON. */
  const closeCalls = (status: ResponseStatus, wholeOnly = false): Uint8Array[] => {
    if (openCalls.length === 0) return []
    const closing = wholeOnly ? openCalls.filter((open) => isWholeArguments(open.call.arguments)) : openCalls
    openCalls = openCalls.filter((open) => !closing.includes(open))
    return closing.flatMap((open) => closeCall(open, status))
  }

  /**
   * A call that ends without any arguments (a stream cut short) is done with `{}`, as the JSON
   * answer has it: clients parse a done item's arguments.
   */
  const closeCall = (open: OpenCall, status: ResponseStatus): Uint8Array[] => {
    const { index, id, call: done } = open
    const at = { item_id: id, output_index: index }
    const filler: Uint8Array[] = []
    if (done.arguments.trim() === '') {
      done.arguments = open.custom ? '' : '{}'
      if (!open.custom) filler.push(emit('response.function_call_arguments.delta', { ...at, delta: '{}' }))
    }
    const input = open.custom ? customInput(done.arguments) : ''
    const events = open.custom
      ? [
          ...(input ? [emit('response.custom_tool_call_input.delta', { ...at, delta: input })] : []),
          emit('response.custom_tool_call_input.done', { ...at, input }),
        ]
      : [...filler, emit('response.function_call_arguments.done', { ...at, name: done.name, arguments: done.arguments })]
    return [...events, emit('response.output_item.done', { output_index: index, item: (output[index] = callItem(open, status)) })]
  }

  /** Closes whichever item is open. */
  const closeOpen = (status: ResponseStatus): Uint8Array[] => [...closeReasoning(), ...closeMessage(status), ...closeCalls(status)]
  /** Closes the open item ahead of the next, leaving open the calls whose arguments are not yet whole. */
  const closeForNext = (): Uint8Array[] => [...closeReasoning(), ...closeMessage('completed'), ...closeCalls('completed', true)]

  const openReasoning = (): Uint8Array[] => {
    if (reasoning) return []
    const events = closeForNext()
    const index = output.length
    output.length += 1
    reasoning = { index, id: itemId(meta, 'rs', index), text: '', details: [] }
    return [...events, emit('response.output_item.added', { output_index: index, item: { type: 'reasoning', id: reasoning.id, summary: [] } })]
  }

  /** The message's part of this type, opening the message or a new part as needed. */
  const openPart = (type: OpenPart['type']): Uint8Array[] => {
    const events = message ? [] : closeForNext()
    if (!message) {
      const index = output.length
      output.length += 1
      message = { index, id: itemId(meta, 'msg', index), parts: [] }
      events.push(emit('response.output_item.added', { output_index: index, item: messageItem(message.id, 'in_progress', []) }))
    }
    if (message.parts.at(-1)?.type === type) return events
    events.push(...closePart())
    const part: OpenPart = { type, text: '', annotations: [] }
    message.parts.push(part)
    const at = { item_id: message.id, output_index: message.index, content_index: message.parts.length - 1 }
    return [...events, emit('response.content_part.added', { ...at, part: partDone(part) })]
  }

  /** Reasoning text, and `reasoning_details` fragments (a signature comes alone, after its block's text). */
  const reasoningDelta = (text: string | undefined, details: unknown): Uint8Array[] => {
    const fragments = Array.isArray(details) ? details : []
    if (!text && !fragments.length) return []
    const events = openReasoning()
    const open = reasoning!
    open.details.push(...fragments)
    if (!text) return events
    const at = { item_id: open.id, output_index: open.index, summary_index: 0 }
    // The summary part opens with the first text: an item of redacted reasoning alone has none.
    if (!open.text) events.push(emit('response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } }))
    open.text += text
    return [...events, emit('response.reasoning_summary_text.delta', { ...at, delta: text })]
  }

  const textDelta = (type: OpenPart['type'], text: string | undefined, annotations: Record<string, unknown>[] = []): Uint8Array[] => {
    if (!text && !annotations.length) return []
    const events = openPart(type)
    const open = message!
    const part = open.parts.at(-1)!
    const at = { item_id: open.id, output_index: open.index, content_index: open.parts.length - 1 }
    if (text) {
      part.text += text
      events.push(type === 'refusal' ? emit('response.refusal.delta', { ...at, delta: text }) : emit('response.output_text.delta', { ...at, delta: text, logprobs: [] }))
    }
    for (const annotation of annotations) {
      events.push(emit('response.output_text.annotation.added', { ...at, annotation_index: part.annotations.length, annotation }))
      part.annotations.push(annotation)
    }
    return events
  }

  const callDelta = (delta: ToolCallDelta): Uint8Array[] => {
    const events: Uint8Array[] = []
    let target = calls.get(delta.index)
    if (!target) {
      events.push(...closeForNext())
      const index = output.length
      output.length += 1
      const fields = { id: delta.id ?? `call_${meta.id}_${delta.index}`, name: delta.function?.name ?? '', arguments: '' }
      const isCustom = custom.has(fields.name)
      target = { index, id: itemId(meta, isCustom ? 'ctc' : 'fc', index), call: fields, custom: isCustom }
      openCalls.push(target)
      calls.set(delta.index, target)
      events.push(emit('response.output_item.added', { output_index: index, item: callItem(target, 'in_progress') }))
    }
    const fragment = delta.function?.arguments
    // Whitespace after a done call's whole arguments changes nothing: its done item stays the final one.
    if (fragment && !fragment.trim() && !openCalls.includes(target) && isWholeArguments(target.call.arguments)) return events
    if (fragment) {
      target.call.arguments += fragment
      // A call already done keeps its whole arguments in the final response.
      if (!openCalls.includes(target)) output[target.index] = callItem(target, 'completed')
      if (!target.custom) events.push(emit('response.function_call_arguments.delta', { item_id: target.id, output_index: target.index, delta: fragment }))
    }
    return events
  }

  return {
    event(event: RenderedEvent) {
      if (event.type === 'finish') {
        finish = event.finishReason
        return start()
      }
      const { content, refusal, reasoning: thought, reasoning_details: details, tool_calls, annotations } = event.delta
      return [
        ...start(),
        ...reasoningDelta(thought, details),
        ...textDelta('output_text', content, annotationsOf(annotations)),
        ...textDelta('refusal', refusal),
        ...(tool_calls ?? []).flatMap(callDelta),
      ]
    },
    error(error) {
      failure = error
      return start()
    },
    end(report, debug) {
      const failed = failure ? { code: failureCode(failure), message: failure.message, metadata: failure.metadata } : null
      const { status, incomplete_details, error } = failed ? { status: 'failed' as const, incomplete_details: null, error: failed } : ending(finish)
      const itemStatus = status === 'completed' ? 'completed' : 'incomplete'
      const events = start()
      // An answer with nothing in it is still one message, as in the non-streaming response.
      if (output.length === 0 && !failure) events.push(...openPart('output_text'))
      events.push(...closeOpen(itemStatus))
      const response = { ...envelope(), status, completed_at: completedAt(status), error, incomplete_details, output: output.filter(Boolean), usage: report ? responsesUsage(report) : null }
      const type = status === 'failed' ? 'response.failed' : status === 'incomplete' ? 'response.incomplete' : 'response.completed'
      return kept(response, keep).then((final) => [...events, emit(type, { response: final, ...debug })])
    },
  }
}

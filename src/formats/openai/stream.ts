import { finishWithCalls, hiddenEvents, type StreamEvent, type ToolCallDelta } from '../canonical'
import { fromOpenAIChunk, newToolCallId } from './response'

/**
 * An OpenAI-format stream's chunks → canonical events, with the state of its tool calls, which
 * single chunks do not carry:
 * - some servers (Ollama, some vLLM builds) number every parallel call 0 and tell them apart by
 *   id: a new id at an index is a new call, so the calls are numbered again in order of arrival;
 * - a call that streamed no arguments gets `{}` before the finish, as OpenAI sends for a call
 *   without parameters (clients parse the arguments as JSON, and `""` is not JSON);
 * - a stream that made calls and says it stopped (Gemini's OpenAI-compatible one) finished for
 *   them, as clients that run tools until `tool_calls` stops coming read it;
 * - a call that opens without an id (some OpenAI-compatible servers send none) is given one, with
 *   its type, as a JSON answer's is: clients need it to answer the call, and the OpenAI SDK's
 *   stream helpers refuse a call without one. An id the upstream sends later is not relayed.
 * A stream without tool calls never touches this state.
 */
export function createOpenAIStreamDecoder(options: { excludeReasoning?: boolean } = {}): (chunk: unknown) => StreamEvent[] {
  const decode = createCallDecoder()
  if (!options.excludeReasoning) return decode
  return (chunk) => decode(chunk).flatMap(hidingReasoning)
}

/**
 * Under `reasoning.exclude`, reasoning in a delta is not relayed but counted, as hidden text (so a
 * stream cut before its usage is charged for it); the rest of the delta goes on.
 */
function hidingReasoning(event: StreamEvent): StreamEvent[] {
  if (event.type !== 'delta' || (event.delta.reasoning === undefined && event.delta.reasoning_details === undefined)) return [event]
  const { reasoning, reasoning_details: _details, ...rest } = event.delta
  const kept: StreamEvent[] = Object.values(rest).some((value) => value !== undefined && value !== null) || event.logprobs ? [{ ...event, delta: rest }] : []
  return [...hiddenEvents(reasoning), ...kept]
}

function createCallDecoder(): (chunk: unknown) => StreamEvent[] {
  /** Upstream index → the call open there. */
  const open = new Map<number, Call>()
  const calls: Call[] = []

  const renumber = (delta: ToolCallDelta): ToolCallDelta => {
    let call = open.get(delta.index)
    if (!call || (delta.id && call.id && !call.madeUp && delta.id !== call.id)) {
      call = { index: calls.length, id: delta.id ?? null, argued: false, madeUp: !delta.id }
      open.set(delta.index, call)
      calls.push(call)
      if (call.madeUp) {
        call.id = newToolCallId()
        delta = { ...delta, id: call.id, type: 'function' }
      }
    } else if (call.madeUp && delta.id) {
      const { id: _late, ...rest } = delta
      delta = rest
    }
    call.id ??= delta.id ?? null
    // Whitespace alone is no arguments: the `{}` still comes.
    if (delta.function?.arguments?.trim()) call.argued = true
    return delta.index === call.index ? delta : { ...delta, index: call.index }
  }

  /** `{}` for each of the first `count` calls that got no arguments (a call without parameters streams ""). */
  const fillEmpty = (count = calls.length): StreamEvent[] => {
    const empty = calls.slice(0, count).filter((call) => !call.argued)
    for (const call of empty) call.argued = true
    return empty.map((call) => ({ type: 'delta', delta: { tool_calls: [{ index: call.index, function: { arguments: '{}' } }] } }))
  }

  /**
   * A delta's calls, renumbered. An earlier call still without arguments gets its `{}` before a
   * new call opens, as the calls stream one after another: the openai SDK's stream helper closes a
   * call when the next opens, and parses its arguments then ("" fails a strict tool's parse).
   */
  const renumbered = (event: Extract<StreamEvent, { type: 'delta' }>, deltas: ToolCallDelta[]): StreamEvent[] => {
    const out: StreamEvent[] = []
    let pending: ToolCallDelta[] = []
    let first = true
    const flush = () => {
      if (pending.length === 0) return
      out.push(first ? { ...event, delta: { ...event.delta, tool_calls: pending } } : { type: 'delta', delta: { tool_calls: pending } })
      first = false
      pending = []
    }
    for (const delta of deltas) {
      const opened = calls.length
      const fragment = renumber(delta)
      // A call opened: the ones before it are complete (the new one's own arguments are still to come).
      const filled = calls.length > opened ? fillEmpty(opened) : []
      if (filled.length > 0) {
        flush()
        out.push(...filled)
      }
      pending.push(fragment)
    }
    flush()
    return first ? [event] : out
  }

  return (chunk) => {
    const events = fromOpenAIChunk(chunk)
    if (calls.length === 0 && !events.some((event) => (event.type === 'delta' && event.delta.tool_calls) || event.type === 'finish')) return events
    return events.flatMap((event): StreamEvent[] => {
      if (event.type === 'delta' && event.delta.tool_calls) return renumbered(event, event.delta.tool_calls)
      if (event.type !== 'finish') return [event]
      return [...fillEmpty(), { ...event, finishReason: finishWithCalls(event.finishReason, calls.length) }]
    })
  }
}

interface Call {
  /** The canonical index. */
  index: number
  id: string | null
  /** Whether any arguments came. */
  argued: boolean
  /** Whether the id is the gateway's, the upstream having sent none. */
  madeUp: boolean
}

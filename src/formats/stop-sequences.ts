import { hiddenEvents, type Completion, type Delta, type StreamEvent } from './canonical'
import type { UpstreamCall } from '../providers/adapter'
import { stopList } from '../providers/parameters'
import type { ChatRequest } from './openai/request'
import type { SseMessage } from './sse'

/**
 * Stop sequences a provider is not sent, enforced by the gateway on what comes back. Claude refuses
 * a whitespace-only stop sequence with a 400 (providers/parameters.ts claudeStops leaves them out),
 * where OpenAI-format models take "\n", the usual stop of legacy completions. Without this a
 * request with `stop: ["\n"]` served by Claude would return text past the newline.
 *
 * The text is cut at the first stop and the finish reason is `stop`; what the model generated
 * after it is not shown but counted (hidden), as it is billed.
 */

/** The whitespace-only stop sequences of a request, which Claude is not sent. */
export function whitespaceStops(request: ChatRequest): string[] {
  const stops = request.stop == null ? [] : stopList(request.stop)
  return stops.filter((value): value is string => typeof value === 'string' && value !== '' && value.trim() === '')
}

/** `call` with `stops` enforced on its answers; unchanged without stops. */
export function enforcingStops<Call extends Pick<UpstreamCall, 'decodeCompletion' | 'decodeStream'>>(call: Call, stops: readonly string[]): Call {
  if (stops.length === 0) return call
  const cutter = stopCutter(stops)
  return {
    ...call,
    decodeCompletion: (body: unknown) => cutCompletion(call.decodeCompletion(body), stops),
    decodeStream: (message: SseMessage) => call.decodeStream(message).flatMap((event) => cutter.event(event)),
  }
}

function cutCompletion(completion: Completion, stops: readonly string[]): Completion {
  const content = completion.message.content
  const at = content === null ? -1 : firstStop(content, stops)
  if (content === null || at === -1) return completion
  const { tool_calls: dropped, ...message } = completion.message
  const hidden = content.length - at + (dropped ?? []).reduce((sum, call) => sum + call.function.arguments.length, 0)
  return {
    ...completion,
    message: { ...message, content: content.slice(0, at) },
    finishReason: 'stop',
    hiddenCharacters: (completion.hiddenCharacters ?? 0) + hidden,
  }
}

/** The index of the first occurrence of any of `stops` in `text`, or -1. */
function firstStop(text: string, stops: readonly string[]): number {
  let first = -1
  for (const stop of stops) {
    const at = text.indexOf(stop)
    if (at !== -1 && (first === -1 || at < first)) first = at
  }
  return first
}

/** How many characters at the end of `text` could begin one of `stops` (held until the next text). */
function partialStopLength(text: string, stops: readonly string[]): number {
  let longest = 0
  for (const stop of stops) {
    for (let length = Math.min(stop.length - 1, text.length); length > longest; length--) {
      if (text.endsWith(stop.slice(0, length))) {
        longest = length
        break
      }
    }
  }
  return longest
}

type DeltaEvent = Extract<StreamEvent, { type: 'delta' }>

/** A stream's text, relayed up to the first stop; a partial match is held until it is decided. */
function stopCutter(stops: readonly string[]) {
  let held = ''
  let stopped = false
  /** The event with its text replaced by `content` (none: without text), or nothing if nothing is left. */
  const withContent = (event: DeltaEvent, content: string): StreamEvent[] => {
    const { content: _replaced, ...rest } = event.delta
    const delta: Delta = content === '' ? rest : { ...rest, content }
    return Object.keys(delta).length > 0 ? [{ ...event, delta }] : []
  }
  return {
    event(event: StreamEvent): StreamEvent[] {
      if (event.type === 'finish') {
        const flushed: StreamEvent[] = held === '' ? [] : [{ type: 'delta', delta: { content: held } }]
        held = ''
        return [...flushed, stopped ? { ...event, finishReason: 'stop' } : event]
      }
      if (event.type !== 'delta') return [event]
      const { delta } = event
      if (stopped) return hiddenEvents(`${delta.content ?? ''}${delta.reasoning ?? ''}${(delta.tool_calls ?? []).map((call) => call.function?.arguments ?? '').join('')}`)
      if (delta.content === undefined || delta.content === '') return [event]
      const text = held + delta.content
      const at = firstStop(text, stops)
      if (at !== -1) {
        stopped = true
        held = ''
        return [...withContent(event, text.slice(0, at)), ...hiddenEvents(text.slice(at))]
      }
      const keep = partialStopLength(text, stops)
      held = text.slice(text.length - keep)
      return withContent(event, text.slice(0, text.length - keep))
    },
  }
}

import * as z from 'zod'
import { encryptedDetail, signatureDetail, textDetail } from '../anthropic/details'
import { type Delta as CanonicalDelta, hiddenEvents, type StreamEvent, usageEvents } from '../canonical'
import { jsonEventDecoder } from '../json-events'
import { heldText } from '../json-tool'
import type { MessageReader, SseMessage } from '../sse'
import { decodeEventStream } from './event-stream'
import { AdditionalFields, BedrockUsage, bedrockErrorMessage, bedrockFinishReason, matchedStop, usageFromBedrock, type BedrockDecodeOptions } from './response'

/**
 * `converse-stream` → canonical stream events. The body is AWS event-stream frames, not SSE; each
 * frame is re-expressed as an SseMessage (`event` = the frame's `:event-type`, `data` = its JSON
 * payload) so the gateway's stream path stays one. Exception frames become `event: "exception"`
 * with the exception type in `id`.
 */

export function bedrockStreamMessages(body: ReadableStream<Uint8Array>): MessageReader {
  const decoder = new TextDecoder()
  return decodeEventStream(body).pipeThrough(
    new TransformStream({
      transform(message, controller) {
        const data = decoder.decode(message.payload)
        const type = message.headers[':message-type']
        if (type === 'event') controller.enqueue({ event: message.headers[':event-type'], data })
        // `error` frames carry their reason in headers rather than the payload.
        else if (type === 'error') controller.enqueue({ event: 'exception', id: message.headers[':error-code'], data: JSON.stringify({ message: message.headers[':error-message'] ?? 'Bedrock stream error' }) })
        else controller.enqueue({ event: 'exception', id: message.headers[':exception-type'], data })
      },
    }),
  ).getReader()
}

const Start = z.looseObject({
  contentBlockIndex: z.number().int().nonnegative(),
  start: z.looseObject({ toolUse: z.looseObject({ toolUseId: z.string(), name: z.string() }).nullish() }).nullish(),
})
const Delta = z.looseObject({
  contentBlockIndex: z.number().int().nonnegative(),
  delta: z.looseObject({
    text: z.string().nullish(),
    toolUse: z.looseObject({ input: z.string() }).nullish(),
    reasoningContent: z.looseObject({ text: z.string().nullish(), signature: z.string().nullish(), redactedContent: z.string().nullish() }).nullish(),
  }),
})
const Stop = z.looseObject({ stopReason: z.string(), additionalModelResponseFields: AdditionalFields })
const BlockStop = z.looseObject({ contentBlockIndex: z.number().int().nonnegative() })

/** Base64 pieces of one blob as one base64 string (each piece may end in padding). */
function joinBase64(pieces: string[]): string {
  if (pieces.length === 1) return pieces[0]!
  try {
    return btoa(pieces.map((piece) => atob(piece)).join(''))
  } catch {
    return pieces.join('')
  }
}
const Metadata = z.looseObject({ usage: BedrockUsage.nullish().catch(null) })

/** ConverseStream's exceptions that are the request's fault or a rate limit, with Converse's HTTP status for them. */
const EXCEPTION_STATUS = new Map([['validationException', 400], ['throttlingException', 429]])

export function createBedrockStreamDecoder(options: BedrockDecodeOptions = {}): (message: SseMessage) => StreamEvent[] {
  // contentBlockIndex of each tool use → its OpenAI tool-call index, or 'json' for the structured-output tool.
  // 'extra': a later call of the JSON tool, not the answer, whose input is counted but not shown.
  const toolIndex = new Map<number, number | 'json' | 'extra'>()
  let toolCalls = 0
  /** Calls and the JSON answer (by contentBlockIndex) whose input has not streamed yet. */
  const unargued = new Set<number>()
  let answeredInJson = false
  const text = heldText(options.jsonTool)
  /** Whether a role delta went out for held text. */
  let opened = false
  // contentBlockIndex of each reasoning block → its reasoning_details index.
  const reasoningIndex = new Map<number, number>()
  // A redacted block's pieces (base64 each) until its contentBlockStop: one block goes out whole.
  const redacted = new Map<number, string[]>()
  const shown = !options.excludeReasoning

  function redactedBlock(contentBlockIndex: number): StreamEvent[] {
    const pieces = redacted.get(contentBlockIndex)
    const index = reasoningIndex.get(contentBlockIndex)
    redacted.delete(contentBlockIndex)
    if (!pieces || index === undefined) return []
    return [{ type: 'delta', delta: { reasoning_details: [encryptedDetail(index, joinBase64(pieces))] } }]
  }

  /** A reasoning block's text, signature or redacted content, as `reasoning` and (Claude's) `reasoning_details`. */
  function reasoningDelta(contentBlockIndex: number, part: { text?: string | null; signature?: string | null; redactedContent?: string | null }): StreamEvent[] {
    if (!shown) return hiddenEvents(part.text)
    let index = reasoningIndex.get(contentBlockIndex)
    if (index === undefined) reasoningIndex.set(contentBlockIndex, (index = reasoningIndex.size))
    const delta: CanonicalDelta = {}
    if (part.text) delta.reasoning = part.text
    if (options.claude) {
      if (part.text) delta.reasoning_details = [textDetail(index, part.text)]
      else if (part.signature) delta.reasoning_details = [signatureDetail(index, part.signature)]
      else if (part.redactedContent) redacted.set(contentBlockIndex, [...(redacted.get(contentBlockIndex) ?? []), part.redactedContent])
    }
    return Object.keys(delta).length ? [{ type: 'delta', delta }] : []
  }

  /**
   * A call whose input never streamed (a tool without parameters), or a JSON answer of `{}`, gets
   * `{}` at its block's stop, as OpenAI sends for such a call: clients parse a call's arguments,
   * and a JSON answer's content, as JSON, and "" is not. Sent at the stop, not the end, so that a
   * `/v1/messages` client's next parallel call need not wait for it.
   */
  function noArguments(contentBlockIndex: number): StreamEvent[] {
    const index = toolIndex.get(contentBlockIndex)
    if (!unargued.delete(contentBlockIndex) || index === undefined || index === 'extra') return []
    if (index === 'json') return [{ type: 'delta', delta: { content: '{}' } }]
    return [{ type: 'delta', delta: { tool_calls: [{ index, function: { arguments: '{}' } }] } }]
  }

  function decode(message: SseMessage, data: unknown): StreamEvent[] {
    switch (message.event) {
      case 'exception': {
        const reason = bedrockErrorMessage(data) ?? 'Bedrock stream exception'
        const status = EXCEPTION_STATUS.get(message.id ?? '')
        return [{ type: 'error', message: message.id ? `${message.id}: ${reason}` : reason, raw: data, ...(status ? { status } : {}) }]
      }
      case 'contentBlockStart': {
        const start = Start.parse(data)
        const toolUse = start.start?.toolUse
        if (!toolUse) return []
        if (toolUse.name === options.jsonTool) {
          // The first call is the answer; a later one's input is counted, not shown.
          if (answeredInJson) {
            toolIndex.set(start.contentBlockIndex, 'extra')
            return []
          }
          toolIndex.set(start.contentBlockIndex, 'json')
          unargued.add(start.contentBlockIndex)
          answeredInJson = true
          text.answered()
          return []
        }
        const index = toolCalls++
        toolIndex.set(start.contentBlockIndex, index)
        unargued.add(start.contentBlockIndex)
        return [...text.release(), { type: 'delta', delta: { tool_calls: [{ index, id: toolUse.toolUseId, type: 'function', function: { name: toolUse.name, arguments: '' } }] } }]
      }
      case 'contentBlockDelta': {
        const { contentBlockIndex, delta } = Delta.parse(data)
        if (delta.text) {
          // Held text still opens the answer: the attempt has begun answering, as far as failover and TTFB go.
          const events = text.text(delta.text)
          if (opened || events.some((event) => event.type === 'delta')) return events
          opened = true
          return [{ type: 'delta', delta: { role: 'assistant' } }, ...events]
        }
        if (delta.reasoningContent) return reasoningDelta(contentBlockIndex, delta.reasoningContent)
        const index = toolIndex.get(contentBlockIndex)
        if (!delta.toolUse?.input || index === undefined) return []
        // Whitespace alone is no input yet: the `{}` still comes.
        if (delta.toolUse.input.trim()) unargued.delete(contentBlockIndex)
        if (index === 'extra') return hiddenEvents(delta.toolUse.input)
        if (index === 'json') return [{ type: 'delta', delta: { content: delta.toolUse.input } }]
        return [{ type: 'delta', delta: { tool_calls: [{ index, function: { arguments: delta.toolUse.input } }] } }]
      }
      case 'contentBlockStop': {
        const stop = BlockStop.safeParse(data)
        return stop.success ? [...redactedBlock(stop.data.contentBlockIndex), ...noArguments(stop.data.contentBlockIndex)] : []
      }
      case 'messageStop': {
        const { stopReason, additionalModelResponseFields } = Stop.parse(data)
        // A redacted block whose stop never came still goes out.
        const unstopped = [...redacted.keys()].flatMap(redactedBlock)
        const matched = matchedStop(stopReason, additionalModelResponseFields)
        const stopDelta: StreamEvent[] = matched.stop_sequence !== undefined ? [{ type: 'delta', delta: matched }] : []
        return [...unstopped, ...[...unargued].flatMap(noArguments), ...text.release(), ...stopDelta, { type: 'finish', finishReason: bedrockFinishReason(stopReason, toolCalls), nativeFinishReason: stopReason }]
      }
      case 'metadata': {
        const { usage } = Metadata.parse(data)
        return usageEvents(usage && usageFromBedrock(usage))
      }
      default:
        return [] // messageStart, and event types added later
    }
  }

  return jsonEventDecoder('Bedrock', (data, message) => decode(message, data))
}

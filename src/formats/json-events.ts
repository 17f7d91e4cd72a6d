import * as z from 'zod'
import type { StreamEvent } from './canonical'
import type { SseMessage } from './sse'

/**
 * The shell every JSON-event stream decoder shares (Anthropic, Gemini, Bedrock): parse the
 * message's data and decode it; data that is not JSON, or breaks the format's schema, becomes one
 * error event rather than a throw into the relay.
 */
export function jsonEventDecoder(
  provider: string,
  decode: (data: unknown, message: SseMessage) => StreamEvent[],
): (message: SseMessage) => StreamEvent[] {
  const malformed = (raw: unknown): StreamEvent => ({ type: 'error', message: `${provider} sent a malformed stream event`, raw })
  return (message) => {
    let data: unknown
    try {
      data = JSON.parse(message.data)
    } catch {
      return [malformed(message.data)]
    }
    try {
      return decode(data, message)
    } catch (error) {
      if (error instanceof z.ZodError) return [malformed(data)]
      throw error
    }
  }
}

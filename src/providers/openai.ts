import { fromOpenAI, fromOpenAIChunk } from '../formats/openai/response'
import { GATEWAY_FIELDS } from '../formats/openai/request'
import type { Adapter } from './adapter'
import { jsonRequest, upstreamUrl } from './adapter'

/** OpenAI chat completions and the OpenAI-compatible family: the canonical form goes out as is. */
export const openaiAdapter: Adapter = {
  prepare(request, endpoint, apiKey, { stream }) {
    const body: Record<string, unknown> = { ...request }
    for (const field of GATEWAY_FIELDS) delete body[field]
    body.model = endpoint.spec.upstreamModel
    body.stream = stream
    // Usage arrives in a final chunk only when asked for; the gateway always needs it for cost.
    if (stream) body.stream_options = { include_usage: true }
    const headers = { authorization: `Bearer ${apiKey}`, ...endpoint.provider.headers }
    return {
      request: jsonRequest(upstreamUrl(endpoint.provider.baseUrl, 'chat/completions'), headers, body),
      decodeCompletion: fromOpenAI,
      decodeStream: (message) => (message.data === '[DONE]' ? [] : fromOpenAIChunk(parseJson(message.data))),
      errorMessage: openaiErrorMessage,
    }
  },
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function openaiErrorMessage(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null
  const error = 'error' in body ? body.error : body
  if (typeof error === 'string') return error
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') {
    return error.message
  }
  return null
}

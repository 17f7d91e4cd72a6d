import { toAnthropic } from '../formats/anthropic/request'
import { anthropicErrorMessage, fromAnthropic } from '../formats/anthropic/response'
import { createAnthropicStreamDecoder } from '../formats/anthropic/stream'
import { requestedMaxTokens } from '../formats/openai/request'
import type { Adapter } from './adapter'
import { jsonRequest, upstreamUrl } from './adapter'

const DEFAULT_VERSION = '2023-06-01'

/** Anthropic Messages: translated both ways through formats/anthropic. */
export const anthropicAdapter: Adapter = {
  prepare(request, endpoint, apiKey, { stream }) {
    const cap = endpoint.spec.maxCompletionTokens
    // Anthropic requires max_tokens; without one from the client the endpoint's cap is the bound.
    const maxTokens = Math.min(requestedMaxTokens(request) ?? cap, cap)
    // The cap lets a thinking budget raise max_tokens within what the endpoint allows.
    const prepared = toAnthropic(request, { upstreamModel: endpoint.spec.upstreamModel, maxTokens, maxTokensCap: cap, stream })
    const headers = { 'x-api-key': apiKey, 'anthropic-version': DEFAULT_VERSION, ...endpoint.provider.headers }
    return {
      request: jsonRequest(upstreamUrl(endpoint.provider.baseUrl, 'messages'), headers, prepared.body),
      decodeCompletion: (json) => fromAnthropic(json, prepared),
      decodeStream: createAnthropicStreamDecoder(prepared),
      errorMessage: anthropicErrorMessage,
    }
  },
}

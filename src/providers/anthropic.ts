import type { Endpoint } from '../catalog/snapshot'
import { withBetas } from '../formats/anthropic/betas'
import { countTokensBody, TokenCount } from '../formats/anthropic/count-tokens'
import { toAnthropic, type AnthropicRequest } from '../formats/anthropic/request'
import { anthropicErrorMessage, fromAnthropic } from '../formats/anthropic/response'
import { createAnthropicStreamDecoder } from '../formats/anthropic/stream'
import { requestedMaxTokens, type ChatRequest } from '../formats/openai/request'
import type { Adapter, UpstreamCall } from './adapter'
import { jsonRequest, upstreamUrl } from './adapter'

const DEFAULT_VERSION = '2023-06-01'

function prepareMessages(request: ChatRequest, endpoint: Endpoint, stream: boolean): AnthropicRequest {
  const cap = endpoint.spec.maxCompletionTokens
  // Anthropic requires max_tokens; without one from the client the endpoint's cap is the bound.
  const maxTokens = Math.min(requestedMaxTokens(request) ?? cap, cap)
  // The cap lets a thinking budget raise max_tokens within what the endpoint allows.
  return toAnthropic(request, { upstreamModel: endpoint.spec.upstreamModel, maxTokens, maxTokensCap: cap, stream })
}

function headersFor(endpoint: Endpoint, apiKey: string, betas: readonly string[]): Record<string, string> {
  return withBetas({ 'x-api-key': apiKey, 'anthropic-version': DEFAULT_VERSION, ...endpoint.provider.headers }, betas)
}

/** Anthropic Messages: translated both ways through formats/anthropic. */
export const anthropicAdapter: Adapter = {
  prepare(request, endpoint, apiKey, { stream, betas }) {
    const prepared = prepareMessages(request, endpoint, stream)
    return {
      request: jsonRequest(upstreamUrl(endpoint.provider.baseUrl, 'messages'), headersFor(endpoint, apiKey, betas), prepared.body),
      decodeCompletion: (json) => fromAnthropic(json, prepared),
      decodeStream: createAnthropicStreamDecoder(prepared),
      errorMessage: anthropicErrorMessage,
    }
  },
}

/** A token count of exactly what a Messages request would send this endpoint. */
export interface CountTokensCall extends Pick<UpstreamCall, 'request' | 'errorMessage'> {
  decode(body: unknown): TokenCount
}

export function prepareCountTokens(request: ChatRequest, endpoint: Endpoint, apiKey: string, betas: readonly string[]): CountTokensCall {
  const { body } = prepareMessages(request, endpoint, false)
  return {
    request: jsonRequest(upstreamUrl(endpoint.provider.baseUrl, 'messages/count_tokens'), headersFor(endpoint, apiKey, betas), countTokensBody(body)),
    decode: (json) => TokenCount.parse(json),
    errorMessage: anthropicErrorMessage,
  }
}

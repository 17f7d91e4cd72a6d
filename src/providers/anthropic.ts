import type { Endpoint } from '../catalog/snapshot'
import { INTERLEAVED_THINKING, withBetas } from '../formats/anthropic/betas'
import { countTokensBody, TokenCount } from '../formats/anthropic/count-tokens'
import { toAnthropic, type AnthropicRequest } from '../formats/anthropic/request'
import { anthropicErrorMessage, fromAnthropic } from '../formats/anthropic/response'
import { createAnthropicStreamDecoder } from '../formats/anthropic/stream'
import { contextPromptTokens } from '../formats/openai/estimate'
import { requestedMaxTokens, type ChatRequest } from '../formats/openai/request'
import { enforcingStops, whitespaceStops } from '../formats/stop-sequences'
import type { Adapter, UpstreamCall } from './adapter'
import { jsonRequest, upstreamUrl } from './adapter'

const DEFAULT_VERSION = '2023-06-01'

/** The least max_tokens sent for a client that gave none, however little of the window the prompt seems to leave. */
const MIN_DEFAULT_MAX_TOKENS = 1024

function prepareMessages(request: ChatRequest, endpoint: Endpoint, stream: boolean, betas: readonly string[]): AnthropicRequest {
  const requested = requestedMaxTokens(request)
  // Anthropic requires max_tokens. Without one from the client, the bound is what the window leaves
  // beside the prompt's estimate, within the endpoint's cap: Claude models before Sonnet 4.5 refuse
  // a prompt and max_tokens past the window (compression, which fits the prompt to the window
  // alone, relies on this too). With one, the endpoint's cap, up to which a thinking budget may raise it.
  const bound = requested === undefined ? defaultMaxTokens(request, endpoint) : endpoint.spec.maxCompletionTokens
  const maxTokens = Math.min(requested ?? bound, bound)
  const interleaved = betas.includes(INTERLEAVED_THINKING)
  return toAnthropic(request, { upstreamModel: endpoint.spec.upstreamModel, maxTokens, maxTokensCap: bound, stream, interleaved })
}

function defaultMaxTokens(request: ChatRequest, endpoint: Endpoint): number {
  const room = endpoint.contextLength - contextPromptTokens(request)
  return Math.min(endpoint.spec.maxCompletionTokens, Math.max(MIN_DEFAULT_MAX_TOKENS, room))
}

function headersFor(endpoint: Endpoint, apiKey: string, betas: readonly string[]): Record<string, string> {
  return withBetas({ 'x-api-key': apiKey, 'anthropic-version': DEFAULT_VERSION, ...endpoint.provider.headers }, betas)
}

/** Anthropic Messages: translated both ways through formats/anthropic. */
export const anthropicAdapter: Adapter = {
  prepare(request, endpoint, apiKey, { stream, betas }) {
    const prepared = prepareMessages(request, endpoint, stream, betas)
    const call: UpstreamCall = {
      request: jsonRequest(upstreamUrl(endpoint.provider.baseUrl, 'messages'), headersFor(endpoint, apiKey, betas), prepared.body),
      decodeCompletion: (json) => fromAnthropic(json, prepared),
      decodeStream: createAnthropicStreamDecoder(prepared),
      errorMessage: anthropicErrorMessage,
    }
    // Claude is not sent whitespace-only stop sequences (it refuses them): the gateway cuts at them.
    return enforcingStops(call, whitespaceStops(request))
  },
}

/** A token count of exactly what a Messages request would send this endpoint. */
export interface CountTokensCall extends Pick<UpstreamCall, 'request' | 'errorMessage'> {
  decode(body: unknown): TokenCount
}

export function prepareCountTokens(request: ChatRequest, endpoint: Endpoint, apiKey: string, betas: readonly string[]): CountTokensCall {
  const { body } = prepareMessages(request, endpoint, false, betas)
  return {
    request: jsonRequest(upstreamUrl(endpoint.provider.baseUrl, 'messages/count_tokens'), headersFor(endpoint, apiKey, betas), countTokensBody(body)),
    decode: (json) => TokenCount.parse(json),
    errorMessage: anthropicErrorMessage,
  }
}

import type { Endpoint } from '../catalog/snapshot'
import { GatewayError } from '../errors'
import { embeddingInputs, fromUpstreamEmbeddings, toUpstreamEmbeddings, type Embeddings, type EmbeddingsRequest } from '../formats/openai/embeddings'
import { jsonRequest, type UpstreamCall } from './adapter'
import { openaiErrorMessage, presetHeaders, presetUrl } from './openai'
import { mappedValue } from './parameters'
import { presetFor } from './presets'

/**
 * The upstream call of an embeddings request. Only OpenAI-format providers have one (the router
 * filters out the rest); it goes where the provider's preset sends chat completions, with
 * `embeddings` in place of `chat/completions` (Azure: `…/deployments/{model}/embeddings?api-version=`),
 * and the preset's auth.
 */
export interface EmbeddingsCall extends Pick<UpstreamCall, 'request' | 'errorMessage'> {
  /** Parsed JSON → vectors in input order; throws on garbage. */
  decode(body: unknown): Embeddings
}

export function prepareEmbeddings(request: EmbeddingsRequest, endpoint: Endpoint, apiKey: string): EmbeddingsCall {
  if (endpoint.provider.format !== 'openai') {
    throw new GatewayError(400, 'invalid_request', `${endpoint.provider.name} has no embeddings API`)
  }
  const preset = presetFor(endpoint.provider)
  const inputs = embeddingInputs(request.input).length
  const headers = presetHeaders(endpoint.provider, apiKey)
  const body = toUpstreamEmbeddings(request, endpoint.spec.upstreamModel, preset.accepts)
  // The end user's id as the preset sends it on chat (OpenAI's 64 characters): one id, whichever API.
  const userRule = preset.parameters.find((rule) => rule.param === 'user' && rule.to === undefined)
  if (userRule && body.user != null) body.user = mappedValue(body, userRule)
  // Decoded either way (fromUpstreamEmbeddings); the client gets the encoding it asked for.
  if (preset.embeddingsBase64) body.encoding_format = 'base64'
  return {
    request: jsonRequest(presetUrl(preset, endpoint, 'embeddings'), headers, body),
    decode: (json) => fromUpstreamEmbeddings(json, inputs),
    errorMessage: openaiErrorMessage,
  }
}

import { requestedMaxTokens } from '../formats/openai/request'
import { toGemini } from '../formats/gemini/request'
import { fromGemini, geminiErrorMessage, geminiProviderFault } from '../formats/gemini/response'
import { createGeminiStreamDecoder } from '../formats/gemini/stream'
import type { Adapter } from './adapter'
import { jsonRequest, upstreamUrl } from './adapter'

/**
 * Google Gemini API (`generateContent`): translated both ways through formats/gemini. The model
 * goes in the URL; streaming is a different method whose `alt=sse` makes it server-sent events
 * (without it Gemini streams one JSON array).
 */
export const geminiAdapter: Adapter = {
  prepare(request, endpoint, apiKey, { stream }) {
    const requested = requestedMaxTokens(request)
    const maxOutputTokens = requested === undefined ? undefined : Math.min(requested, endpoint.spec.maxCompletionTokens)
    const method = stream ? 'streamGenerateContent?alt=sse' : 'generateContent'
    const url = upstreamUrl(endpoint.provider.baseUrl, `models/${endpoint.spec.upstreamModel}:${method}`)
    const headers = { 'x-goog-api-key': apiKey, ...endpoint.provider.headers }
    const thinks = endpoint.spec.supportedParameters.includes('reasoning')
    const body = toGemini(request, { maxOutputTokens, upstreamModel: endpoint.spec.upstreamModel, thinks })
    return {
      request: jsonRequest(url, headers, body),
      // A zero budget turns thinking off (Flash); nothing else does.
      thinksFirst: thinks && thinkingBudgetOf(body) !== 0,
      decodeCompletion: fromGemini,
      decodeStream: createGeminiStreamDecoder(),
      errorMessage: geminiErrorMessage,
      providerFault: geminiProviderFault,
    }
  },
}

function thinkingBudgetOf(body: Record<string, unknown>): unknown {
  const config = body.generationConfig
  if (typeof config !== 'object' || config === null || !('thinkingConfig' in config)) return undefined
  const thinking = config.thinkingConfig
  return typeof thinking === 'object' && thinking !== null && 'thinkingBudget' in thinking ? thinking.thinkingBudget : undefined
}

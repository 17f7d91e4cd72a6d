import { costNano } from '../catalog/pricing'
import type { Endpoint } from '../catalog/snapshot'
import type { TokenUsage } from '../formats/canonical'
import { estimatePromptTokens, estimateTokens } from '../formats/openai/estimate'
import type { ChatRequest } from '../formats/openai/request'
import type { UsageReport } from '../formats/openai/render'

/**
 * Usage and cost of a served request. When the upstream reports no usage (a provider that omits
 * it, a stream cut short, a client that hung up), tokens are estimated: an estimate is charged,
 * never zero.
 */

export function usageReport(
  reported: TokenUsage | null,
  endpoint: Endpoint,
  fallback: { request: ChatRequest; completionCharacters: number },
): UsageReport & { estimated: boolean } {
  const usage = reported ?? {
    promptTokens: estimatePromptTokens(fallback.request),
    completionTokens: estimateTokens(fallback.completionCharacters),
    cachedTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  }
  return { usage, costNano: costNano(usage, endpoint.prices), estimated: reported === null }
}

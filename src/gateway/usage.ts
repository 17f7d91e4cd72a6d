import { costNano } from '../catalog/pricing'
import type { Endpoint } from '../catalog/snapshot'
import type { TokenUsage } from '../formats/canonical'
import { estimatePromptTokens, estimateTokens } from '../formats/openai/estimate'
import type { ChatRequest } from '../formats/openai/request'
import type { UsageReport } from '../formats/openai/render'

/**
 * Usage and cost of a served request. When the upstream reports no usage (a provider that omits
 * it, a stream cut short, a client that hung up), tokens are estimated: an estimate is charged,
 * never zero. The cost never passes `capNano`, what admission reserved for the request
 * (Admitted.costCapNano): the tokens are reported as the upstream counted them, but a key is never
 * charged past the limit its admission checked.
 */

export type Report = UsageReport & { estimated: boolean }

export function usageReport(
  reported: TokenUsage | null,
  endpoint: Endpoint,
  capNano: number,
  fallback: { request: ChatRequest; completionCharacters: number },
): Report {
  const usage = reported ?? {
    promptTokens: estimatePromptTokens(fallback.request),
    completionTokens: estimateTokens(fallback.completionCharacters),
    cachedTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  }
  return reportOf(usage, endpoint, capNano, reported === null)
}

export function reportOf(usage: TokenUsage, endpoint: Endpoint, capNano: number, estimated: boolean): Report {
  return { usage, costNano: Math.min(costNano(usage, endpoint.prices), capNano), estimated }
}

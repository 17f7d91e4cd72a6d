import { costNano } from '../catalog/pricing'
import type { Endpoint } from '../catalog/snapshot'
import type { TokenUsage } from '../formats/canonical'
import { estimatePromptTokens, estimateTokens } from '../formats/openai/estimate'
import type { ChatRequest } from '../formats/openai/request'
import type { UsageReport } from '../formats/openai/render'

/**
 * Usage and cost of a served request. When the upstream reports no usage (a provider that omits
 * it, a stream cut short, a client that hung up), tokens are estimated: an estimate is charged,
 * never zero. Usage an unfinished stream reported is a count so far (providers that repeat
 * cumulative usage): its completion tokens are raised to the estimate of what was relayed. The
 * cost never passes `capNano`, what admission reserved for the request (Admitted.costCapNano):
 * the tokens are reported as the upstream counted them, but a key is never charged past the limit
 * its admission checked. A count of zero where there was something to count (a prompt, output that
 * was relayed) is no count: some upstreams send zeroes when they do not count, and what the
 * provider billed is charged, estimated, never nothing.
 */

export type Report = UsageReport & { estimated: boolean }

export function usageReport(
  reported: TokenUsage | null,
  endpoint: Endpoint,
  capNano: number,
  fallback: { request: ChatRequest; completionCharacters: number; unfinished?: boolean },
): Report {
  const generated = estimateTokens(fallback.completionCharacters)
  if (reported === null) {
    const estimate = { promptTokens: estimatePromptTokens(fallback.request), completionTokens: generated, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }
    return reportOf(estimate, endpoint, capNano, true)
  }
  const noPrompt = reported.promptTokens === 0
  const shortOutput = (fallback.unfinished || reported.completionTokens === 0) && generated > reported.completionTokens
  if (!noPrompt && !shortOutput) return reportOf(reported, endpoint, capNano, false)
  const promptTokens = noPrompt ? estimatePromptTokens(fallback.request) : reported.promptTokens
  const completionTokens = shortOutput ? generated : reported.completionTokens
  return reportOf({ ...reported, promptTokens, completionTokens }, endpoint, capNano, true)
}

export function reportOf(usage: TokenUsage, endpoint: Endpoint, capNano: number, estimated: boolean): Report {
  return { usage, costNano: Math.min(costNano(usage, endpoint.prices), capNano), estimated }
}

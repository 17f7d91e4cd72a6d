import { costNano } from '../catalog/pricing'
import type { Endpoint } from '../catalog/snapshot'
import type { TokenUsage } from '../formats/canonical'
import { textOf, type ChatRequest } from '../formats/openai/request'
import type { UsageReport } from '../formats/openai/render'

/**
 * Usage and cost of a served request. When the upstream reports no usage (a provider that omits
 * it, a stream cut short), tokens are estimated at four characters per token: an estimate is
 * charged, never zero.
 */

const CHARS_PER_TOKEN = 4

export function estimateTokens(characters: number): number {
  return Math.ceil(characters / CHARS_PER_TOKEN)
}

export function estimatePromptTokens(request: ChatRequest): number {
  const characters = request.messages.reduce((sum, message) => sum + textOf(message.content).length, 0)
  return estimateTokens(characters)
}

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

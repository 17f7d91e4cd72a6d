/**
 * Anthropic's beta features, asked for by name in the `anthropic-beta` header (the Anthropic SDK's
 * `betas`, Claude Code) or OpenRouter's `x-anthropic-beta`, on any inference route. Only betas the
 * operator allows (ANTHROPIC_BETAS) reach Anthropic-format providers; the rest are dropped, as
 * OpenRouter does, since an unknown name fails the whole request upstream and a client such as
 * Claude Code names betas meant for Anthropic's own first-party API.
 */

/**
 * Allowed by default: betas that change only how an answer is generated, laid out or streamed,
 * nothing Meridian translates, routes on or bills by. Betas that need request fields Meridian does
 * not carry (context management, code execution, files, MCP) or that widen the context window
 * past the catalog's (`context-1m-…`) are left out.
 */
export const INTERLEAVED_THINKING = 'interleaved-thinking-2025-05-14'

export const DEFAULT_ANTHROPIC_BETAS: readonly string[] = [
  INTERLEAVED_THINKING,
  'fine-grained-tool-streaming-2025-05-14',
  'token-efficient-tools-2025-02-19',
]

/** A comma-separated list of beta names, lowercased, blanks dropped. */
export function betaNames(list: string): string[] {
  return list
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '')
}

/** The allowed betas a request asks for, each once, in the order asked. */
export function requestedBetas(headers: Headers, allowed: readonly string[]): string[] {
  const anthropic = headers.get('anthropic-beta')
  const openrouter = headers.get('x-anthropic-beta')
  if (anthropic === null && openrouter === null) return []
  const asked = betaNames(`${anthropic ?? ''},${openrouter ?? ''}`)
  return [...new Set(asked.filter((name) => allowed.includes(name)))]
}

/**
 * An upstream request's headers with the betas added to its `anthropic-beta` (a provider's own,
 * configured in the catalog, are kept first).
 */
export function withBetas(headers: Record<string, string>, betas: readonly string[]): Record<string, string> {
  if (betas.length === 0) return headers
  const entries = Object.entries(headers)
  const isBeta = ([name]: [string, string]) => name.toLowerCase() === 'anthropic-beta'
  const configured = entries.filter(isBeta).flatMap(([, value]) => betaNames(value))
  const rest = Object.fromEntries(entries.filter((entry) => !isBeta(entry)))
  return { ...rest, 'anthropic-beta': [...new Set([...configured, ...betas])].join(',') }
}

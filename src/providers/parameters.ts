/**
 * Parameter maps as data (Portkey-style): each rule reads one field of the canonical request and
 * writes it — renamed, clamped or transformed — into an upstream body, or drops it. A provider's
 * quirks then live in a table rather than in code; any wire format can use it.
 *
 * @example
 * mapParameters({ seed: 7, temperature: 3 }, [rename('seed', 'random_seed'), { param: 'temperature', max: 1 }])
 * // → { random_seed: 7, temperature: 1 }
 */

export type Body = Record<string, unknown>

export interface ParameterRule {
  /** The request field read. */
  param: string
  /** Where the value goes (a dotted path nests: `metadata.user_id`); default `param`; `null` drops it. */
  to?: string | null
  /** Sent when the request has no value. */
  default?: unknown
  /** Numbers are clamped into [min, max] after `transform`. */
  min?: number
  max?: number
  /** Returning `undefined` sends nothing. */
  transform?: (value: unknown) => unknown
}

export const drop = (param: string): ParameterRule => ({ param, to: null })

/** OpenAI's `stop` (a string or a list) as a list, for the formats that take only lists. */
export const stopList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value])

/**
 * `stop` for Claude, which refuses a whitespace-only sequence with a 400 ("each stop sequence must
 * contain non-whitespace"), where OpenAI-format models take "\n": those are left out (none left:
 * nothing is sent), so the same request is served whichever provider answers it.
 */
export const claudeStops = (value: unknown): unknown[] | undefined => {
  const stops = stopList(value).filter((stop) => typeof stop !== 'string' || stop.trim() !== '')
  return stops.length > 0 ? stops : undefined
}
export const rename = (param: string, to: string): ParameterRule => ({ param, to })

/**
 * Applies `rules` to `source`, writing into `target` (returned). A rule never overwrites a value
 * the target already holds, so a field the client set itself (`max_completion_tokens`) wins over
 * one renamed onto it (`max_tokens`).
 */
export function mapParameters(source: Readonly<Body>, rules: readonly ParameterRule[], target: Body = {}): Body {
  for (const rule of rules) {
    const value = mappedValue(source, rule)
    if (value !== undefined) setPath(target, rule.to ?? rule.param, value)
  }
  return target
}

/** What one rule sends for `source`: `undefined` when the field is absent, dropped or transformed away. */
export function mappedValue(source: Readonly<Body>, rule: ParameterRule): unknown {
  if (rule.to === null) return undefined
  const raw = source[rule.param] ?? rule.default
  if (raw == null) return undefined
  const value = rule.transform ? rule.transform(raw) : raw
  if (typeof value !== 'number') return value ?? undefined
  return Math.min(rule.max ?? Infinity, Math.max(rule.min ?? -Infinity, value))
}

function setPath(target: Body, path: string, value: unknown): void {
  const keys = path.split('.')
  const last = keys.pop()!
  let node = target
  for (const key of keys) {
    const child = node[key]
    const next: Body = isBody(child) ? { ...child } : {}
    node[key] = next
    node = next
  }
  if (node[last] === undefined) node[last] = value
}

function isBody(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

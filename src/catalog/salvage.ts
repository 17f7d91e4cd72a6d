import type * as z from 'zod'
import { CatalogSchema, EndpointSchema, ModelSchema, ProviderSchema, type CatalogDocument } from './schema'
import { withoutRemoved } from './pool'

/** A stored catalog cut down to what validates (salvageCatalog). */
export interface Salvaged {
  document: CatalogDocument
  /** What was left out and why, by the document's own names ("provider "acme": baseUrl: …"). */
  dropped: string[]
}

type Entry = { value: unknown; name: string }

/**
 * What can still be served of a stored catalog that no longer validates: one written under an
 * older release whose rules were looser (a baseUrl with credentials in it, say). Serving the
 * bundled default instead would swap the operator's providers and prices for the bundled ones, so
 * the document is cut down to what passes. First each entry on its own: a provider, an endpoint or
 * a model that fails is left out (a model left with no endpoint too). Then the rules across
 * entries, on what is left, until none fails: a second provider or model with one id, a provider
 * a rule about its format refuses, an endpoint naming a provider left out (and a model that loses
 * its last endpoint so). Null when something outside the entries fails (the document's own
 * fields), or no model is left.
 */
export function salvageCatalog(stored: unknown): Salvaged | null {
  if (!isRecord(stored) || !Array.isArray(stored.providers) || !Array.isArray(stored.models)) return null
  const dropped: string[] = []
  const valid = (schema: z.ZodType, entry: Entry): boolean => {
    const parsed = schema.safeParse(entry.value)
    if (!parsed.success) dropped.push(`${entry.name}: ${reason(parsed.error.issues[0])}`)
    return parsed.success
  }
  let providers = stored.providers.map((value, index) => ({ value, name: `provider ${nameOf(value, index)}` })).filter((entry) => valid(ProviderSchema, entry))
  let models = stored.models.flatMap((value, index): Entry[] => {
    const name = `model ${nameOf(value, index)}`
    if (!isRecord(value) || !Array.isArray(value.endpoints)) return valid(ModelSchema, { value, name }) ? [{ value, name }] : []
    const endpoints = value.endpoints.filter((endpoint, at) => valid(EndpointSchema, { value: endpoint, name: `${name}, ${endpointName(endpoint, at)}` }))
    const model = { value: endpoints.length === value.endpoints.length ? value : { ...value, endpoints }, name }
    return valid(ModelSchema, model) ? [model] : []
  })
  // Each pass leaves out at least one entry, so this ends.
  for (;;) {
    const { auto, ...fields } = stored
    const kept = models.map((entry) => entry.value)
    // The auto pool keeps only models left (each once), and is left out when none is.
    const pool = withoutRemoved(auto, kept.filter(isRecord))
    if (Array.isArray(auto) && auto.length !== (pool.auto?.length ?? 0)) dropped.push(`auto: ${auto.length - (pool.auto?.length ?? 0)} of its models left out`)
    const parsed = CatalogSchema.safeParse({ ...fields, providers: providers.map((entry) => entry.value), models: kept, ...pool })
    if (parsed.success) return parsed.data.models.length > 0 ? { document: parsed.data, dropped } : null
    const cut = { providers: new Set<number>(), models: new Set<number>(), endpoints: new Map<number, Set<number>>() }
    for (const issue of parsed.error.issues) {
      const [list, index, field, endpoint] = issue.path
      if (typeof index !== 'number') return null
      const entry = list === 'providers' ? providers[index] : list === 'models' ? models[index] : undefined
      if (!entry) return null
      const inEndpoint = list === 'models' && field === 'endpoints' && typeof endpoint === 'number'
      if (list === 'providers') cut.providers.add(index)
      else if (inEndpoint) cut.endpoints.set(index, (cut.endpoints.get(index) ?? new Set()).add(endpoint))
      else cut.models.add(index)
      const where = inEndpoint ? `${entry.name}, ${endpointName(endpointsOf(entry)[endpoint], endpoint)}` : entry.name
      dropped.push(`${where}: ${reason(issue, inEndpoint ? 4 : 2)}`)
    }
    providers = providers.filter((_entry, index) => !cut.providers.has(index))
    models = models.flatMap((entry, index): Entry[] => {
      if (cut.models.has(index)) return []
      const out = cut.endpoints.get(index)
      if (!out || !isRecord(entry.value)) return [entry]
      return [{ ...entry, value: { ...entry.value, endpoints: endpointsOf(entry).filter((_endpoint, at) => !out.has(at)) } }]
    })
  }
}

/** The field that failed, below the entry's own path (`depth` steps into the document), and why; zod's messages carry no values. */
function reason(issue: z.core.$ZodIssue | undefined, depth = 0): string {
  return issue ? `${issue.path.slice(depth).join('.') || 'entry'}: ${issue.message}` : 'invalid'
}

function endpointsOf(entry: Entry): unknown[] {
  return isRecord(entry.value) && Array.isArray(entry.value.endpoints) ? entry.value.endpoints : []
}

/** An id as logged: quoted, and cut short (a stored id may be anything). */
function nameOf(entry: unknown, index: number): string {
  return isRecord(entry) && typeof entry.id === 'string' ? JSON.stringify(entry.id.slice(0, 64)) : `#${index}`
}

/** An endpoint by its provider, which does not move as entries before it are left out. */
function endpointName(endpoint: unknown, index: number): string {
  return isRecord(endpoint) && typeof endpoint.provider === 'string' ? `endpoint on ${JSON.stringify(endpoint.provider.slice(0, 64))}` : `endpoint #${index}`
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

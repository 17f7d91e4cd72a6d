import type { z } from 'zod'
import { CatalogSchema, type CatalogDocument } from './schema'

/** A stored catalog cut down to what validates (salvageCatalog). */
export interface Salvaged {
  document: CatalogDocument
  /** What was left out and why, by the document's own names ("provider acme: baseUrl: …"). */
  dropped: string[]
}

/** A few passes at most: dropping a provider can fail its endpoints, and dropping those their model. */
const MAX_PASSES = 4

/**
 * What can still be served of a stored catalog that no longer validates: one written under an
 * older release whose rules were looser (a baseUrl with credentials in it, say). Serving the
 * bundled default instead would swap the operator's providers and prices for the bundled ones, so
 * the document is cut down to what passes:
 * - a provider that fails is left out;
 * - an endpoint that fails, or names a provider left out, is left out;
 * - a model that fails for any other reason, or is left with no endpoint, is left out.
 * Null when something outside one provider or model fails (the document's shape), or nothing is left.
 */
export function salvageCatalog(stored: unknown): Salvaged | null {
  if (!isRecord(stored) || !Array.isArray(stored.providers) || !Array.isArray(stored.models)) return null
  let document: Record<string, unknown> & { providers: unknown[]; models: unknown[] } = { ...stored, providers: stored.providers, models: stored.models }
  const dropped: string[] = []
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const parsed = CatalogSchema.safeParse(document)
    if (parsed.success) return parsed.data.models.length > 0 ? { document: parsed.data, dropped } : null
    const cut = faults(parsed.error.issues)
    if (!cut) return null
    const { providers, models } = document
    cut.providers.forEach((reason, index) => dropped.push(`provider ${nameOf(providers[index], index)}: ${reason}`))
    cut.models.forEach((reason, index) => dropped.push(`model ${nameOf(models[index], index)}: ${reason}`))
    cut.endpoints.forEach((reason, place) => {
      const [model, endpoint] = place.split('/').map(Number) as [number, number]
      dropped.push(`model ${nameOf(models[model], model)}, endpoint ${endpoint}: ${reason}`)
    })
    document = {
      ...document,
      providers: providers.filter((_provider, index) => !cut.providers.has(index)),
      models: models.flatMap((model, index) => (cut.models.has(index) ? [] : [withoutEndpoints(model, index, cut.endpoints)])),
    }
  }
  return null
}

interface Faults {
  providers: Map<number, string>
  models: Map<number, string>
  /** By "model/endpoint" index. */
  endpoints: Map<string, string>
}

/** Where each issue lies; null if one lies outside every provider and model. */
function faults(issues: z.core.$ZodIssue[]): Faults | null {
  const found: Faults = { providers: new Map(), models: new Map(), endpoints: new Map() }
  for (const issue of issues) {
    const [list, index, field, endpoint] = issue.path
    if (typeof index !== 'number') return null
    const inEndpoint = list === 'models' && field === 'endpoints' && typeof endpoint === 'number'
    // The field that failed, within the entry left out.
    const reason = `${issue.path.slice(inEndpoint ? 4 : 2).join('.') || 'entry'}: ${issue.message}`
    if (list === 'providers') found.providers.set(index, found.providers.get(index) ?? reason)
    else if (list !== 'models') return null
    else if (inEndpoint) found.endpoints.set(`${index}/${endpoint}`, found.endpoints.get(`${index}/${endpoint}`) ?? reason)
    else found.models.set(index, found.models.get(index) ?? reason)
  }
  return found
}

/** The model without its endpoints that failed (`cut`, by "model/endpoint" index). */
function withoutEndpoints(model: unknown, modelIndex: number, cut: Map<string, string>): unknown {
  if (!isRecord(model) || !Array.isArray(model.endpoints)) return model
  const endpoints = model.endpoints.filter((_endpoint, index) => !cut.has(`${modelIndex}/${index}`))
  return endpoints.length === model.endpoints.length ? model : { ...model, endpoints }
}

function nameOf(entry: unknown, index: number): string {
  return isRecord(entry) && typeof entry.id === 'string' ? JSON.stringify(entry.id) : `#${index}`
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

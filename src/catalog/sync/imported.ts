import { ModelSchema, type EndpointSpec, type ModelSpec, type ProviderSpec } from '../schema'

/** What both importers produce, and the grouping of their entries into catalog models. Pure. */

/** A model, endpoint or provider a sync left out, and why (returned in the sync report). */
export interface Skip {
  id: string
  reason: string
}

/** A provider as far as the source document knows it; the operator supplies the rest (merge.ts). */
export interface ImportedProvider {
  id: string
  known: Partial<Omit<ProviderSpec, 'id'>>
}

/** One entry of the source, as one endpoint of a catalog model. */
export interface ImportedEntry {
  /** The id in the source, used in skip reports and as the alias key. */
  sourceId: string
  modelId: string
  model: Omit<ModelSpec, 'id' | 'endpoints'>
  endpoint: EndpointSpec
}

/** Where a source entry would be served: its provider and the model id it names there. */
export interface EntryAt {
  provider: string
  upstreamModel: string
}

export interface ImportResult {
  providers: ImportedProvider[]
  models: ModelSpec[]
  skipped: Skip[]
  /**
   * Entries the source lists but that were skipped for a fault of their own (a price that cannot
   * be held, a field out of range): still offered, so an endpoint the catalog has for one stays.
   */
  unusable?: EntryAt[]
}

/**
 * Entries with the same model id (through aliases) become one model with several endpoints. The
 * first entry names and describes the model; its context is the largest endpoint's, and its
 * modalities are those every endpoint serves, so that routing never sends an image to an endpoint
 * that cannot read it. An entry that shares no modality with the others, or a second endpoint at
 * the same provider, is skipped, as is an entry the catalog's schema refuses.
 */
export function groupByModel(entries: ImportedEntry[]): { models: ModelSpec[]; skipped: Skip[]; unusable: EntryAt[] } {
  const models = new Map<string, ModelSpec>()
  const skipped: Skip[] = []
  const unusable: EntryAt[] = []
  for (const entry of entries) {
    if (!ModelSchema.shape.id.safeParse(entry.modelId).success) {
      skipped.push({ id: entry.sourceId, reason: `"${entry.modelId}" is not a catalog model id (author/slug); give it an alias` })
      continue
    }
    // A value the source allows and the catalog does not (a date or a token count past 2^53) skips its entry, not the sync.
    const checked = ModelSchema.safeParse({ id: entry.modelId, ...entry.model, endpoints: [entry.endpoint] })
    if (!checked.success) {
      const problems = checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')
      skipped.push({ id: entry.sourceId, reason: `not a valid catalog entry (${problems})` })
      unusable.push(entry.endpoint)
      continue
    }
    const model = models.get(entry.modelId)
    if (!model) {
      models.set(entry.modelId, { id: entry.modelId, ...entry.model, endpoints: [entry.endpoint] })
      continue
    }
    const twin = model.endpoints.find((endpoint) => endpoint.provider === entry.endpoint.provider)
    if (twin) {
      skipped.push({ id: entry.sourceId, reason: `${model.id} already has an endpoint at ${twin.provider} (${twin.upstreamModel})` })
      continue
    }
    const input = model.modalities.input.filter((m) => entry.model.modalities.input.includes(m))
    const output = model.modalities.output.filter((m) => entry.model.modalities.output.includes(m))
    if (input.length === 0 || output.length === 0) {
      skipped.push({ id: entry.sourceId, reason: `its modalities share nothing with ${model.id}'s other endpoints` })
      continue
    }
    model.modalities = { input, output }
    model.contextLength = Math.max(model.contextLength, entry.model.contextLength)
    model.endpoints.push(entry.endpoint)
  }
  return { models: [...models.values()], skipped, unusable }
}

/** Keeps the modalities the catalog knows (e.g. drops "video" output), in the source's order. */
export function knownModalities<T extends string>(values: readonly string[], known: readonly T[]): T[] {
  const kept = values.filter((value): value is T => (known as readonly string[]).includes(value))
  return [...new Set(kept)]
}

import { withoutRemoved } from '../pool'
import { ProviderSchema, type CatalogDocument, type ModelSpec, type ProviderSpec } from '../schema'
import { validateCatalog } from '../store'
import type { EntryAt, ImportedProvider, ImportResult, Skip } from './imported'
import type { ProviderOptions } from './options'

/**
 * Merges an import into the operator's catalog. Pure. The rule (docs/catalog.md "Catalog sync"):
 *
 * - The operator's providers win: a provider already in the catalog is used as it is; sync
 *   options and source fields only define providers the catalog lacks. An imported provider that
 *   is neither in the catalog nor fully defined (region, format, …) is dropped with its endpoints.
 * - A sync owns the endpoints of the providers it imports: every existing endpoint at one of them
 *   is replaced by the imported ones, so a model the source stopped listing loses that endpoint
 *   (and disappears when it had no other). Endpoints at other providers are never touched, nor
 *   at a provider the source lists no usable model for (that is a broken source, not an empty one),
 *   nor one whose entry the source still lists but was skipped for a fault of its own.
 * - Imported endpoints join an existing model of the same id after its other endpoints, keeping
 *   its name, description, context and modalities, when they serve every modality it claims (else
 *   they are skipped). A model only the sync's endpoints serve is the source's, updated whole.
 *   Other models are added.
 * - The result is validated whole (`validateCatalog`): an invalid merge throws and stores nothing.
 */

export interface ProviderReport {
  id: string
  /** Whose definition is used: the catalog's (operator) or one built from the source and options. */
  from: 'catalog' | 'sync'
  endpoints: number
}

export interface MergeResult {
  document: CatalogDocument
  providers: ProviderReport[]
  modelsImported: number
  endpointsImported: number
  skipped: Skip[]
}

/** `options` is keyed by catalog provider id. */
export function mergeCatalog(current: CatalogDocument, imported: ImportResult, options: Record<string, ProviderOptions> = {}): MergeResult {
  const known = new Map(current.providers.map((provider) => [provider.id, provider]))
  const added: ProviderSpec[] = []
  const skipped: Skip[] = []
  for (const provider of imported.providers) {
    if (known.has(provider.id)) continue
    const defined = defineProvider(provider, options[provider.id])
    if ('reason' in defined) skipped.push(defined)
    else added.push(defined)
  }
  // A provider the source lists no usable entry for (an empty answer, a renamed field failing
  // every entry) is not synced: its endpoints stay, rather than the catalog losing every model.
  const listed = new Set(imported.models.flatMap((model) => model.endpoints.map((endpoint) => endpoint.provider)))
  const synced = new Set<string>()
  for (const { id } of imported.providers) {
    if (!known.has(id) && !added.some((p) => p.id === id)) continue
    if (listed.has(id)) synced.add(id)
    else skipped.push({ id, reason: 'the source lists no usable model at this provider; its endpoints are kept as they were' })
  }

  const arriving = new Map(
    imported.models.flatMap((model): [string, ModelSpec][] => {
      const endpoints = model.endpoints.filter((endpoint) => synced.has(endpoint.provider))
      return endpoints.length > 0 ? [[model.id, { ...model, endpoints }]] : []
    }),
  )
  const offered = new Set((imported.unusable ?? []).map(placeOf))
  const incoming: ModelSpec[] = []
  const kept = current.models.flatMap((model): ModelSpec[] => {
    const update = arriving.get(model.id)
    arriving.delete(model.id)
    // Endpoints the sync does not own, and its own whose entry the source offers but was skipped.
    const own = model.endpoints.filter(
      (endpoint) => !synced.has(endpoint.provider) || (offered.has(placeOf(endpoint)) && !update?.endpoints.some((e) => e.provider === endpoint.provider)),
    )
    if (!update) return own.length > 0 ? [{ ...model, endpoints: own }] : []
    incoming.push(update)
    // A model the sync alone serves is the source's: its name, context and modalities follow it.
    if (own.length === 0) return [update]
    const lacking = [...model.modalities.input.filter((m) => !update.modalities.input.includes(m)), ...model.modalities.output.filter((m) => !update.modalities.output.includes(m))]
    if (lacking.length === 0) return [{ ...model, endpoints: [...own, ...update.endpoints] }]
    // Routing reads a model's modalities for all its endpoints: one that cannot read an image would be sent one.
    incoming.pop()
    skipped.push({ id: model.id, reason: `the source's endpoints do not serve ${lacking.join(', ')}, which the catalog's model does: not joined` })
    return [{ ...model, endpoints: own }]
  })
  incoming.push(...arriving.values())
  const models = [...kept, ...arriving.values()]
  const { auto, ...rest } = current
  const document = validateCatalog({
    ...rest,
    providers: [...current.providers, ...added],
    models,
    // A model the sync removed leaves the auto pool with it (a pool left empty: every model).
    ...withoutRemoved(auto, models),
  })

  const endpoints = incoming.flatMap((model) => model.endpoints)
  return {
    document,
    providers: [...synced].map((id) => ({
      id,
      from: known.has(id) ? 'catalog' : 'sync',
      endpoints: endpoints.filter((endpoint) => endpoint.provider === id).length,
    })),
    modelsImported: incoming.length,
    endpointsImported: endpoints.length,
    skipped,
  }
}

/** Source fields, overridden by the operator's options; data collection is "allow" unless the
 *  operator says otherwise, so a `data_collection: "deny"` request never trusts an unchecked claim. */
const placeOf = ({ provider, upstreamModel }: EntryAt): string => `${provider}\n${upstreamModel}`

function defineProvider(provider: ImportedProvider, options: ProviderOptions = {}): ProviderSpec | Skip {
  const { id: _catalogId, preset: chosen, ...fields } = options
  // The source's preset goes with the source's format: an operator who names another format, or
  // `preset: null`, drops it.
  const { preset: knownPreset, ...known } = provider.known
  const preset = chosen === undefined ? ((fields.format ?? known.format) === 'openai' ? knownPreset : undefined) : chosen
  const parsed = ProviderSchema.safeParse({ headers: {}, dataCollection: 'allow', ...known, ...fields, ...(preset ? { preset } : {}), id: provider.id })
  if (parsed.success) return parsed.data
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')
  return { id: provider.id, reason: `provider not in the catalog and not defined by the sync options (${problems})` }
}

import * as z from 'zod'
import { ModelSchema, ProviderSchema, Region, WireFormat } from '../schema'

/**
 * What an operator tells a sync: the source, and what the source cannot know (docs/catalog.md
 * "Catalog sync"). Validated whole before anything is fetched; a scheduled sync stores these
 * (without `document` and `schedule`) so that cron repeats them.
 */

export const DEFAULT_SOURCE_URLS = {
  openrouter: 'https://openrouter.ai/api/v1/models',
  'models.dev': 'https://models.dev/api.json',
} as const

/**
 * One provider of the sync, keyed by its id in the source (models.dev) or by any label
 * (OpenRouter). Fields fill in or override what the source says about the provider; they are
 * ignored when the catalog already has a provider with that id, because the operator's wins.
 */
export const ProviderOptionsSchema = z.strictObject({
  /** The catalog provider id to serve these models through (default: the key), e.g. models.dev's
   *  "fireworks-ai" → the catalog's "fireworks". */
  id: ProviderSchema.shape.id.optional(),
  name: ProviderSchema.shape.name.optional(),
  format: WireFormat.optional(),
  baseUrl: ProviderSchema.shape.baseUrl.optional(),
  apiKeyEnv: ProviderSchema.shape.apiKeyEnv.optional(),
  headers: z.record(z.string(), z.string()).optional(),
  region: Region.optional(),
  dataCollection: ProviderSchema.shape.dataCollection.optional(),
  /** A preset, or null for none (plain OpenAI-compatible) where the source names one. */
  preset: ProviderSchema.shape.preset.unwrap().nullable().optional(),
  apiVersion: ProviderSchema.shape.apiVersion,
})
export type ProviderOptions = z.infer<typeof ProviderOptionsSchema>

export const SyncOptionsSchema = z
  .strictObject({
    source: z.enum(['openrouter', 'models.dev']),
    /** Where to fetch the source document (default DEFAULT_SOURCE_URLS[source]). */
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    /** The source document itself, instead of fetching it. */
    document: z.unknown().optional(),
    providers: z.record(z.string().min(1), ProviderOptionsSchema).optional(),
    /** Source model id (OpenRouter id, or models.dev "provider/model") → catalog model id. */
    aliases: z.record(z.string().min(1), ModelSchema.shape.id).optional(),
    /** Also store these options so that cron repeats the sync. */
    schedule: z.boolean().optional(),
  })
  .superRefine((options, ctx) => {
    const fail = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message })
    const providers = Object.entries(options.providers ?? {})
    if (options.url !== undefined && options.document !== undefined) fail('document', 'give either url or document, not both')
    if (options.schedule && options.document !== undefined) {
      fail('schedule', 'a scheduled sync fetches its source; it cannot repeat an inline document')
    }
    if (options.source === 'openrouter' && providers.length > 1) {
      fail('providers', 'an OpenRouter sync serves every model through one provider; name at most one')
    }
    if (options.source === 'models.dev' && providers.length === 0) {
      fail('providers', 'name the models.dev providers to import, e.g. { "groq": {} }')
    }
    const ids = providers.map(([key, provider]) => provider.id ?? key)
    const repeated = ids.find((id, i) => ids.indexOf(id) !== i)
    if (repeated) fail('providers', `two providers map to the catalog provider "${repeated}"`)
  })
export type SyncOptions = z.infer<typeof SyncOptionsSchema>

/** The catalog provider id of each selected source provider, in the order given. */
export function selectedProviders(options: SyncOptions): { source: string; id: string }[] {
  return Object.entries(options.providers ?? {}).map(([source, provider]) => ({ source, id: provider.id ?? source }))
}

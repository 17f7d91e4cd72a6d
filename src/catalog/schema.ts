import * as z from 'zod'
import { PRESET_IDS, PRESETS } from '../providers/presets'

/**
 * The catalog document: which providers exist, where they are, and which models each serves at
 * what price. One JSON document, validated whole (docs/catalog.md describes every field).
 */

/** USD per token (or per request) as a decimal string, parsed exactly (see pricing.ts). */
export const UsdAmount = z
  .string()
  .regex(/^\d{1,6}(\.\d{1,12})?$/, 'must be a decimal USD amount with at most 12 decimals, e.g. "0.0000025"')

export const Region = z.strictObject({
  name: z.string().min(1),
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  /** Where the datacenter is, as an ISO 3166-1 alpha-2 code (GET /providers' `datacenters`). */
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code such as US').optional(),
})

export const WireFormat = z.enum(['openai', 'anthropic', 'gemini', 'bedrock'])
export type WireFormat = z.infer<typeof WireFormat>

const Slug = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a lowercase slug (a-z, 0-9, ., _, -)')

/** No `?` or `#` (even empty), no user or password; a string that is no URL is z.url()'s to report. */
function plainBaseUrl(url: string): boolean {
  if (url.includes('?') || url.includes('#')) return false
  try {
    const { username, password } = new URL(url)
    return !username && !password
  } catch {
    return true
  }
}

export const ProviderSchema = z.strictObject({
  id: Slug,
  name: z.string().min(1),
  format: WireFormat,
  /**
   * A path is appended to it, so it has no query or fragment; and no user or password, which fetch
   * refuses and an error message would carry (credentials go in `apiKeyEnv` or `headers`).
   */
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .refine(plainBaseUrl, 'must have no user, password, query or fragment: put credentials in apiKeyEnv or headers'),
  /**
   * Name of the Worker secret holding this provider's API key; the provider is live only when it
   * is set. For format "bedrock" the secret holds `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]`.
   */
  apiKeyEnv: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]*$/, 'must be an environment variable name such as OPENAI_API_KEY')
    // The management credential is never sent to a provider, whatever a catalog says.
    .refine((name) => name !== 'ADMIN_TOKEN', 'must not name ADMIN_TOKEN'),
  headers: z
    .record(
      z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a valid header name'),
      z.string().regex(/^[\t\x20-\x7e]*$/, 'must be printable ASCII'),
    )
    .default({}),
  region: Region,
  /** Whether the provider may store or train on prompts (`provider.data_collection: "deny"` filters on it). */
  dataCollection: z.enum(['allow', 'deny']),
  /** OpenAI format only: the OpenAI-compatible provider whose URL, auth and parameter quirks apply (src/providers/presets.ts). */
  preset: z.enum(PRESET_IDS).optional(),
  /** Azure's `api-version` query parameter (default: the azure preset's). */
  apiVersion: z.string().regex(/^[0-9A-Za-z.-]+$/, 'must be an API version such as 2024-10-21').optional(),
})
export type ProviderSpec = z.infer<typeof ProviderSchema>

export const Quantization = z.enum([
  'int4', 'int8', 'fp4', 'mxfp4', 'nvfp4', 'fp6', 'fp8', 'mxfp8', 'fp16', 'bf16', 'fp32', 'unknown',
])

export const PricingSchema = z.strictObject({
  prompt: UsdAmount,
  completion: UsdAmount,
  /** Per cached prompt token read; defaults to `prompt`. */
  cacheRead: UsdAmount.optional(),
  /** Per prompt token written to the cache; defaults to `prompt`. */
  cacheWrite: UsdAmount.optional(),
  /** Per prompt token written to the cache for an hour (Anthropic's `ttl: "1h"`); defaults to twice `prompt`, Anthropic's rule. */
  cacheWrite1h: UsdAmount.optional(),
  /** Flat fee per request. */
  request: UsdAmount.optional(),
})
export type PricingSpec = z.infer<typeof PricingSchema>

const TokenCount = z.number().int().positive()

export const EndpointSchema = z.strictObject({
  provider: Slug,
  upstreamModel: z.string().min(1),
  pricing: PricingSchema,
  /** Defaults to the model's context length. */
  contextLength: TokenCount.optional(),
  /** The most prompt tokens the provider takes, where that is less than the context leaves (GPT-5: 272k of 400k). */
  maxPromptTokens: TokenCount.optional(),
  maxCompletionTokens: TokenCount,
  supportedParameters: z.array(z.string()).default([]),
  quantization: Quantization.default('unknown'),
})
export type EndpointSpec = z.infer<typeof EndpointSchema>

export const InputModality = z.enum(['text', 'image', 'file', 'audio', 'video'])
export const OutputModality = z.enum(['text', 'image', 'audio', 'embeddings'])

export const ModelSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._:-]*$/, 'must look like "author/slug"'),
  name: z.string().min(1),
  description: z.string().default(''),
  /** Unix seconds when the model was released or added. */
  created: z.number().int().nonnegative().default(0),
  contextLength: TokenCount,
  modalities: z.strictObject({
    input: z.array(InputModality).min(1),
    output: z.array(OutputModality).min(1),
  }),
  endpoints: z.array(EndpointSchema).min(1),
})
export type ModelSpec = z.infer<typeof ModelSchema>

export const CatalogSchema = z
  .strictObject({
    version: z.string().optional(),
    providers: z.array(ProviderSchema),
    models: z.array(ModelSchema),
    /** The Auto Router's pool (`openrouter/auto`, routing/auto.ts): model ids, in the order they are tried. */
    auto: z.array(z.string()).min(1, 'must name at least one model (leave it out to pool every model)').optional(),
  })
  .superRefine((catalog, ctx) => {
    const providerIds = new Set<string>()
    catalog.providers.forEach((provider, i) => {
      if (providerIds.has(provider.id)) {
        ctx.addIssue({ code: 'custom', path: ['providers', i, 'id'], message: `duplicate provider id "${provider.id}"` })
      }
      providerIds.add(provider.id)
      if (provider.preset && provider.format !== 'openai') {
        ctx.addIssue({ code: 'custom', path: ['providers', i, 'preset'], message: 'a preset applies to format "openai" only' })
      }
      if (provider.apiVersion && !(provider.preset && PRESETS[provider.preset].path.includes('{apiVersion}'))) {
        ctx.addIssue({ code: 'custom', path: ['providers', i, 'apiVersion'], message: 'apiVersion applies to preset "azure" only' })
      }
    })
    const modelIds = new Set<string>()
    catalog.models.forEach((model, i) => {
      if (modelIds.has(model.id)) {
        ctx.addIssue({ code: 'custom', path: ['models', i, 'id'], message: `duplicate model id "${model.id}"` })
      }
      modelIds.add(model.id)
      // One endpoint per provider: routing, health and provider preferences name an endpoint by the two.
      const served = new Set<string>()
      model.endpoints.forEach((endpoint, j) => {
        if (served.has(endpoint.provider)) {
          ctx.addIssue({
            code: 'custom',
            path: ['models', i, 'endpoints', j, 'provider'],
            message: `a second endpoint at provider "${endpoint.provider}" (a model has one endpoint per provider)`,
          })
        }
        served.add(endpoint.provider)
        if (!providerIds.has(endpoint.provider)) {
          ctx.addIssue({
            code: 'custom',
            path: ['models', i, 'endpoints', j, 'provider'],
            message: `unknown provider "${endpoint.provider}"`,
          })
        }
      })
    })
    const pooled = new Set<string>()
    catalog.auto?.forEach((id, i) => {
      if (!modelIds.has(id)) ctx.addIssue({ code: 'custom', path: ['auto', i], message: `unknown model "${id}"` })
      else if (pooled.has(id)) ctx.addIssue({ code: 'custom', path: ['auto', i], message: `model "${id}" listed twice` })
      pooled.add(id)
    })
  })
export type CatalogDocument = z.infer<typeof CatalogSchema>
export type CatalogInput = z.input<typeof CatalogSchema>

import * as z from 'zod'
import { invalidInput } from '../../errors'
import { InputModality, OutputModality } from '../schema'
import { groupByModel, knownModalities, type EntryAt, type ImportedEntry, type ImportedProvider, type ImportResult } from './imported'
import { exactPricing } from './prices'

/**
 * OpenRouter's `GET /api/v1/models` document → catalog models, every one served through one
 * provider (OpenRouter itself by default) with `upstreamModel` = the OpenRouter id. Pure.
 *
 * @example importOpenRouter(await (await fetch('https://openrouter.ai/api/v1/models')).json(), { provider: 'openrouter' })
 */

/** What the document implies about the provider serving it; the operator adds region and data policy. */
export const OPENROUTER_PROVIDER: ImportedProvider['known'] = {
  name: 'OpenRouter',
  format: 'openai',
  baseUrl: 'https://openrouter.ai/api/v1',
  apiKeyEnv: 'OPENROUTER_API_KEY',
}

const Document = z.looseObject({ data: z.array(z.unknown()) })

// Loose: the real objects carry many more fields (per_request_limits, reasoning, links, …).
const Count = z.number().int().positive()
const Model = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  created: z.number().nonnegative().optional(),
  description: z.string().nullish(),
  context_length: Count.nullish(),
  architecture: z.looseObject({ input_modalities: z.array(z.string()), output_modalities: z.array(z.string()) }),
  pricing: z.looseObject({
    prompt: z.string(),
    completion: z.string(),
    input_cache_read: z.string().nullish(),
    input_cache_write: z.string().nullish(),
    request: z.string().nullish(),
  }),
  top_provider: z.looseObject({ context_length: Count.nullish(), max_completion_tokens: Count.nullish() }).nullish(),
  supported_parameters: z.array(z.string()).nullish(),
})
type Model = z.infer<typeof Model>

export interface OpenRouterImport {
  /** The catalog provider every imported endpoint is served through. */
  provider: string
  aliases?: Record<string, string>
}

export function importOpenRouter(document: unknown, options: OpenRouterImport): ImportResult {
  const parsed = Document.safeParse(document)
  if (!parsed.success) throw invalidInput('source document', parsed.error.issues)
  const skipped: ImportResult['skipped'] = []
  const unusable: EntryAt[] = []
  const entries: ImportedEntry[] = []
  parsed.data.data.forEach((raw, i) => {
    const model = Model.safeParse(raw)
    const named = idOf(raw)
    const entry = model.success ? toEntry(model.data, options) : invalidInput('entry', model.error.issues).message
    if (typeof entry !== 'string') {
      entries.push(entry)
      return
    }
    skipped.push({ id: named ?? `data[${i}]`, reason: entry })
    if (named) unusable.push({ provider: options.provider, upstreamModel: named })
  })
  const grouped = groupByModel(entries)
  return {
    providers: [{ id: options.provider, known: OPENROUTER_PROVIDER }],
    models: grouped.models,
    skipped: [...skipped, ...grouped.skipped],
    unusable: [...unusable, ...grouped.unusable],
  }
}

function toEntry(model: Model, options: OpenRouterImport): ImportedEntry | string {
  const contextLength = model.context_length ?? model.top_provider?.context_length
  if (!contextLength) return 'no context_length'
  const input = knownModalities(model.architecture.input_modalities, InputModality.options)
  const output = knownModalities(model.architecture.output_modalities, OutputModality.options)
  if (input.length === 0 || output.length === 0) {
    return `no modality Meridian serves (${model.architecture.input_modalities.join('+')}->${model.architecture.output_modalities.join('+')})`
  }
  const { prompt, completion, input_cache_read, input_cache_write, request } = model.pricing
  const pricing = exactPricing(
    [
      ['prompt', 'pricing.prompt', prompt],
      ['completion', 'pricing.completion', completion],
      ['cacheRead', 'pricing.input_cache_read', input_cache_read],
      ['cacheWrite', 'pricing.input_cache_write', input_cache_write],
      ['request', 'pricing.request', request],
    ],
    0,
  )
  if (typeof pricing === 'string') return pricing
  const endpointContext = model.top_provider?.context_length ?? contextLength
  return {
    sourceId: model.id,
    modelId: options.aliases?.[model.id] ?? model.id,
    model: {
      name: model.name,
      description: model.description ?? '',
      created: Math.floor(model.created ?? 0),
      contextLength,
      modalities: { input, output },
    },
    endpoint: {
      provider: options.provider,
      upstreamModel: model.id,
      pricing,
      contextLength: endpointContext,
      // OpenRouter leaves this null when only the context window bounds the output.
      maxCompletionTokens: model.top_provider?.max_completion_tokens ?? endpointContext,
      supportedParameters: model.supported_parameters ?? [],
      quantization: 'unknown',
    },
  }
}

function idOf(raw: unknown): string | undefined {
  const id = z.looseObject({ id: z.string().min(1) }).safeParse(raw)
  return id.success ? id.data.id : undefined
}

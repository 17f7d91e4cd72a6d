import * as z from 'zod'
import { invalidInput } from '../../errors'
import type { PresetId } from '../../providers/presets'
import { InputModality, OutputModality, type WireFormat } from '../schema'
import { groupByModel, knownModalities, type EntryAt, type ImportedEntry, type ImportedProvider, type ImportResult, type Skip } from './imported'
import { exactPricing } from './prices'

/**
 * models.dev's `api.json` (providers keyed by id, each with its models, prices per MILLION tokens
 * and limits) → catalog providers and models, for the providers the operator selects. Pure.
 *
 * A model's catalog id is its alias when one is given for "provider/model", else
 * "provider/model" made into a slug ("deepinfra/meta-llama/Llama-3.3-70B" → "deepinfra/meta-llama-llama-3.3-70b").
 */

/**
 * The AI SDK package a provider is used through tells its wire format, and for OpenAI-compatible
 * APIs with quirks of their own the preset that knows them (src/providers/presets.ts): without it,
 * Mistral would be sent the `developer` role it refuses, Groq the `logprobs` it refuses. Others
 * must be told, Azure among them (its SDK speaks the v1 API by model name, its preset the
 * deployments API).
 */
const WIRE_BY_NPM: Record<string, { format: WireFormat; preset?: PresetId }> = {
  '@ai-sdk/openai-compatible': { format: 'openai' },
  '@ai-sdk/openai': { format: 'openai', preset: 'openai' },
  '@ai-sdk/groq': { format: 'openai', preset: 'groq' },
  '@ai-sdk/mistral': { format: 'openai', preset: 'mistral' },
  '@ai-sdk/cerebras': { format: 'openai', preset: 'cerebras' },
  '@ai-sdk/xai': { format: 'openai', preset: 'xai' },
  '@ai-sdk/perplexity': { format: 'openai', preset: 'perplexity' },
  '@ai-sdk/deepseek': { format: 'openai', preset: 'deepseek' },
  '@ai-sdk/togetherai': { format: 'openai', preset: 'together' },
  '@ai-sdk/fireworks': { format: 'openai', preset: 'fireworks' },
  '@ai-sdk/deepinfra': { format: 'openai', preset: 'deepinfra' },
  '@ai-sdk/anthropic': { format: 'anthropic' },
  '@ai-sdk/google': { format: 'gemini' },
}

const Provider = z.looseObject({
  id: z.string(),
  name: z.string().min(1),
  api: z.string().optional(),
  env: z.array(z.string()).optional(),
  npm: z.string().optional(),
  models: z.record(z.string(), z.unknown()),
})
type Provider = z.infer<typeof Provider>

const Model = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  release_date: z.string().optional(),
  reasoning: z.boolean().optional(),
  tool_call: z.boolean().optional(),
  temperature: z.boolean().optional(),
  modalities: z.looseObject({ input: z.array(z.string()), output: z.array(z.string()) }).optional(),
  cost: z
    .looseObject({ input: z.number(), output: z.number(), cache_read: z.number().optional(), cache_write: z.number().optional() })
    .optional(),
  limit: z.looseObject({ context: z.number(), output: z.number(), input: z.number().optional().catch(undefined) }).optional(),
})
type Model = z.infer<typeof Model>

export interface ModelsDevImport {
  /** Which source providers to import, and the catalog provider id each is served through. */
  providers: { source: string; id: string }[]
  aliases?: Record<string, string>
}

export function importModelsDev(document: unknown, options: ModelsDevImport): ImportResult {
  const parsed = z.record(z.string(), z.unknown()).safeParse(document)
  if (!parsed.success) throw invalidInput('source document', parsed.error.issues)
  const providers: ImportedProvider[] = []
  const entries: ImportedEntry[] = []
  const skipped: Skip[] = []
  const unusable: EntryAt[] = []
  for (const selected of options.providers) {
    const raw = parsed.data[selected.source]
    if (raw === undefined) {
      skipped.push({ id: selected.source, reason: 'provider not in the source document' })
      continue
    }
    const provider = Provider.safeParse(raw)
    if (!provider.success) {
      throw invalidInput('source document', provider.error.issues.map((issue) => ({ ...issue, path: [selected.source, ...issue.path] })))
    }
    providers.push({ id: selected.id, known: knownProvider(provider.data) })
    for (const [key, rawModel] of Object.entries(provider.data.models)) {
      const sourceId = `${selected.source}/${key}`
      const model = Model.safeParse(rawModel)
      const entry = model.success ? toEntry(model.data, sourceId, selected.id, options.aliases) : invalidInput('entry', model.error.issues).message
      if (typeof entry !== 'string') {
        entries.push(entry)
        continue
      }
      skipped.push({ id: sourceId, reason: entry })
      unusable.push({ provider: selected.id, upstreamModel: model.success ? model.data.id : key })
    }
  }
  const grouped = groupByModel(entries)
  return { providers, models: grouped.models, skipped: [...skipped, ...grouped.skipped], unusable: [...unusable, ...grouped.unusable] }
}

/**
 * What the document may say about a provider: its name and wire format. Never where a secret goes:
 * the base URL and the key's variable come only from the operator (the sync options or the
 * catalog), or a changed third-party document, synced hourly by cron, could send a provider key
 * (or any other secret) to a host of its choosing.
 */
function knownProvider(provider: Provider): ImportedProvider['known'] {
  const wire = provider.npm === undefined ? undefined : WIRE_BY_NPM[provider.npm]
  return { name: provider.name, ...wire }
}

function toEntry(model: Model, sourceId: string, provider: string, aliases: Record<string, string> = {}): ImportedEntry | string {
  if (!model.cost) return 'no cost'
  if (!model.limit) return 'no limit'
  const { context, output: maxOutput, input: maxInput } = model.limit
  if (!isTokenCount(context) || !isTokenCount(maxOutput)) return `limit ${context}/${maxOutput} is not a positive token count`
  const pricing = exactPricing(
    [
      ['prompt', 'cost.input', model.cost.input],
      ['completion', 'cost.output', model.cost.output],
      ['cacheRead', 'cost.cache_read', model.cost.cache_read],
      ['cacheWrite', 'cost.cache_write', model.cost.cache_write],
    ],
    -6,
  )
  if (typeof pricing === 'string') return pricing
  // models.dev calls documents "pdf"; the catalog calls them "file".
  const sourceInput = (model.modalities?.input ?? ['text']).map((m) => (m === 'pdf' ? 'file' : m))
  const input = knownModalities(sourceInput, InputModality.options)
  const output = knownModalities(model.modalities?.output ?? ['text'], OutputModality.options)
  if (input.length === 0 || output.length === 0) return 'no modality Meridian serves'
  const released = model.release_date ? Date.parse(model.release_date) : NaN
  return {
    sourceId,
    modelId: aliases[sourceId] ?? slugId(sourceId),
    model: {
      name: model.name,
      description: '',
      created: Number.isNaN(released) || released < 0 ? 0 : Math.floor(released / 1000),
      contextLength: context,
      modalities: { input, output },
    },
    endpoint: {
      provider,
      upstreamModel: model.id,
      pricing,
      contextLength: context,
      // The prompt's own limit, where the window would allow more (GPT-5 takes 272k of its 400k).
      ...(maxInput !== undefined && isTokenCount(maxInput) && maxInput < context ? { maxPromptTokens: maxInput } : {}),
      maxCompletionTokens: maxOutput,
      supportedParameters: [
        'max_tokens',
        ...(model.temperature ? ['temperature'] : []),
        ...(model.tool_call ? ['tools', 'tool_choice'] : []),
        ...(model.reasoning ? ['reasoning', 'include_reasoning'] : []),
      ],
      quantization: 'unknown',
    },
  }
}

const isTokenCount = (n: number) => Number.isInteger(n) && n > 0

/** "provider/Some/Model_ID" → "provider/some-model_id": the catalog's author/slug shape. */
export function slugId(sourceId: string): string {
  const slash = sourceId.indexOf('/')
  const slug = sourceId
    .slice(slash + 1)
    .toLowerCase()
    .replace(/[^a-z0-9._:-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
  return `${sourceId.slice(0, slash)}/${slug}`
}

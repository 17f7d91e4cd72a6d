import * as z from 'zod'
import { base64ToBytes, bytesToBase64 } from '../../base64'
import { nanoToUsd } from '../../catalog/pricing'
import { ProviderPreferences } from '../../routing/preferences'
import { BilledTokenCount, type TokenUsage } from '../canonical'
import { estimateTokens, utf8Length } from './estimate'
import { FallbackModels, GATEWAY_FIELDS, ModelId, type ChatRequest } from './request'
import type { UsageReport } from './render'

/**
 * OpenAI's embeddings API (POST /embeddings), in and out: the client's request, the body sent to an
 * OpenAI-format upstream, the upstream's answer decoded, and the OpenRouter-dialect response
 * (`id`, `provider`, the catalog `model`, `usage.cost` in USD). Pure.
 */

const TokenIds = z.array(z.number().int().nonnegative()).min(1)
/** OpenAI's own limit on inputs per request. */
const MAX_INPUTS = 2048

export const EmbeddingsRequest = z.looseObject({
  model: ModelId.nullish(),
  models: FallbackModels.nullish(),
  input: z.union([
    z.string().min(1),
    z.array(z.string().min(1)).min(1).max(MAX_INPUTS),
    TokenIds,
    z.array(TokenIds).min(1).max(MAX_INPUTS),
  ]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
  user: z.string().max(256).nullish(),
  provider: ProviderPreferences.nullish(),
})
export type EmbeddingsRequest = z.infer<typeof EmbeddingsRequest>

export type EmbeddingInput = string | number[]

/** The request's inputs, one per vector the answer must hold. */
export function embeddingInputs(input: EmbeddingsRequest['input']): EmbeddingInput[] {
  if (typeof input === 'string') return [input]
  if (input.every((item): item is number => typeof item === 'number')) return [input]
  return input.filter((item): item is EmbeddingInput => typeof item !== 'number')
}

/** Tokenizers may add a start and an end token around each input. */
const INPUT_OVERHEAD_TOKENS = 2

/** Never below the true count: a text token covers at least one UTF-8 byte (see estimate.ts). */
export function embeddingTokenBound(request: EmbeddingsRequest): number {
  return embeddingInputs(request.input).reduce(
    (sum, item) => sum + (typeof item === 'string' ? utf8Length(item) + INPUT_OVERHEAD_TOKENS : item.length),
    0,
  )
}

export function estimateEmbeddingTokens(request: EmbeddingsRequest): number {
  return embeddingInputs(request.input).reduce((sum, item) => sum + (typeof item === 'string' ? estimateTokens(item.length) : item.length), 0)
}

/**
 * The request as the router sees it: models and provider preferences, no messages. Context
 * windows bound each input, not their sum, so the planner's prompt-size filter must not apply.
 */
export function planningRequest(request: EmbeddingsRequest): ChatRequest {
  return { model: request.model, models: request.models, provider: request.provider, dimensions: request.dimensions, messages: [] }
}

/** Sent to every provider: without them the vectors would not be what was asked for. */
const ESSENTIAL_FIELDS = new Set(['input', 'dimensions'])
const NEVER_SENT = new Set<string>([...GATEWAY_FIELDS, 'encoding_format'])

/**
 * The upstream body. Unknown fields pass through to providers that accept any field (`accepts`
 * from the provider's preset); a strict provider gets only the fields it accepts. The client's
 * `encoding_format` is never sent: the preset decides what is asked for (floats, or base64 where
 * the provider takes it: providers/openai-embeddings.ts), and the gateway encodes the answer as
 * the client asked.
 */
export function toUpstreamEmbeddings(request: EmbeddingsRequest, upstreamModel: string, accepts: readonly string[] | 'any'): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(request)) {
    if (NEVER_SENT.has(field) || value == null) continue
    if (accepts === 'any' || ESSENTIAL_FIELDS.has(field) || accepts.includes(field)) body[field] = value
  }
  body.model = upstreamModel
  return body
}

const Vector = z.union([z.array(z.number()), z.string()])
const UpstreamEmbeddings = z.looseObject({
  data: z.array(z.looseObject({ index: z.number().int().nonnegative().optional(), embedding: Vector })),
  // Odd usage is no usage: the vectors are served and their tokens estimated. Some providers
  // (Voyage's OpenAI-compatible API) count only total_tokens, which for embeddings is the input;
  // a zero count for vectors served is no count either (no embedding is made of nothing).
  usage: z
    .looseObject({ prompt_tokens: BilledTokenCount.optional(), total_tokens: BilledTokenCount.optional() })
    .transform((usage) => usage.prompt_tokens || usage.total_tokens || undefined)
    .nullish()
    .catch(null),
})

export interface Embeddings {
  /** In input order. */
  vectors: number[][]
  /** Null when the upstream reported none; the gateway then estimates. */
  usage: TokenUsage | null
}

/** Throws unless the body holds exactly one vector per input (base64 from a provider that sent it unasked is decoded). */
export function fromUpstreamEmbeddings(body: unknown, inputs: number): Embeddings {
  const { data, usage } = UpstreamEmbeddings.parse(body)
  if (data.length !== inputs) throw new Error(`expected ${inputs} embeddings, got ${data.length}`)
  const slots: (number[] | undefined)[] = Array.from({ length: inputs }, () => undefined)
  data.forEach((item, position) => {
    const index = item.index ?? position
    if (index >= inputs || slots[index] !== undefined) throw new Error(`unexpected embedding index ${index}`)
    slots[index] = typeof item.embedding === 'string' ? base64ToFloats(item.embedding) : item.embedding
  })
  const vectors = slots.filter((vector): vector is number[] => vector !== undefined)
  const promptTokens = usage ?? undefined
  return {
    vectors,
    usage: promptTokens === undefined ? null : { promptTokens, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
  }
}

export interface EmbeddingsMeta {
  id: string
  /** The catalog model that served the request (after fallback). */
  model: string
  /** The serving provider's display name. */
  provider: string
}

export function renderEmbeddings(meta: EmbeddingsMeta, embeddings: Embeddings, report: UsageReport, encoding: 'float' | 'base64') {
  const promptTokens = report.usage.promptTokens
  return {
    id: meta.id,
    object: 'list',
    model: meta.model,
    provider: meta.provider,
    data: embeddings.vectors.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: encoding === 'base64' ? floatsToBase64(vector) : vector,
    })),
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens, cost: nanoToUsd(report.costNano) },
  }
}

/** OpenAI's base64 encoding: the vector as little-endian float32. */
export function floatsToBase64(vector: number[]): string {
  const bytes = new Uint8Array(vector.length * 4)
  const view = new DataView(bytes.buffer)
  vector.forEach((value, i) => view.setFloat32(i * 4, value, true))
  return bytesToBase64(bytes)
}

export function base64ToFloats(encoded: string): number[] {
  const bytes = base64ToBytes(encoded)
  if (bytes.length % 4 !== 0) throw new Error('a base64 embedding must hold whole float32 values')
  const view = new DataView(bytes.buffer)
  return Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true))
}

import { CatalogSchema, type CatalogInput } from '../../src/catalog/schema'
import { compileCatalog } from '../../src/catalog/snapshot'
import type { ChatRequest } from '../../src/formats/openai/request'
import type { HealthView } from '../../src/health/types'
import { planRoute, type PlanInput } from '../../src/routing/plan'
import type { Geo } from '../../src/routing/score'

/** A small world for routing tests: four providers on three continents. */

const provider = (id: string, lat: number, lon: number, format: 'openai' | 'anthropic', dataCollection: 'allow' | 'deny') => ({
  id,
  name: id.toUpperCase(),
  format,
  baseUrl: `http://127.0.0.1/${id}`,
  apiKeyEnv: id === 'dead' ? 'NO_KEY' : 'KEY',
  region: { name: id, lat, lon },
  dataCollection,
})

const ALL = ['temperature', 'max_tokens', 'tools', 'tool_choice', 'response_format', 'structured_outputs', 'stop', 'seed']
/** JSON mode without JSON schemas, as some providers list it. */
const JSON_MODE_ONLY = ALL.filter((parameter) => parameter !== 'structured_outputs')

export const catalogDoc: CatalogInput = {
  providers: [
    provider('us', 39.04, -77.49, 'openai', 'deny'),
    provider('eu', 50.11, 8.68, 'anthropic', 'deny'),
    provider('ap', 1.35, 103.82, 'openai', 'deny'),
    provider('cheap', 45.6, -121.2, 'openai', 'allow'),
    provider('dead', 0, 0, 'openai', 'deny'),
  ],
  models: [
    {
      id: 'x/chat',
      name: 'Chat',
      contextLength: 128000,
      modalities: { input: ['text', 'image'], output: ['text'] },
      endpoints: [
        { provider: 'us', upstreamModel: 'm', pricing: { prompt: '0.000002', completion: '0.000008' }, maxCompletionTokens: 4096, supportedParameters: ALL, quantization: 'fp16' },
        { provider: 'eu', upstreamModel: 'm', pricing: { prompt: '0.000003', completion: '0.000015' }, maxCompletionTokens: 4096, supportedParameters: ALL, quantization: 'bf16' },
        { provider: 'ap', upstreamModel: 'm', pricing: { prompt: '0.000001', completion: '0.000004' }, maxCompletionTokens: 4096, supportedParameters: JSON_MODE_ONLY, quantization: 'fp8' },
        {
          provider: 'cheap',
          upstreamModel: 'm',
          pricing: { prompt: '0.0000005', completion: '0.000001' },
          contextLength: 8000,
          maxCompletionTokens: 1024,
          supportedParameters: ['temperature', 'max_tokens'],
          quantization: 'int4',
        },
      ],
    },
    {
      id: 'x/text',
      name: 'Text',
      contextLength: 32000,
      // Text and files (a PDF's words), no images.
      modalities: { input: ['text', 'file'], output: ['text'] },
      endpoints: [{ provider: 'us', upstreamModel: 't', pricing: { prompt: '0.000001', completion: '0.000001' }, maxCompletionTokens: 2048, supportedParameters: ALL }],
    },
    {
      id: 'x/dead',
      name: 'Dead',
      contextLength: 32000,
      modalities: { input: ['text'], output: ['text'] },
      endpoints: [{ provider: 'dead', upstreamModel: 'd', pricing: { prompt: '0.000001', completion: '0.000001' }, maxCompletionTokens: 2048 }],
    },
  ],
}

export const catalog = compileCatalog(CatalogSchema.parse(catalogDoc))

export const CLIENTS: Record<string, Geo> = {
  frankfurt: { lat: 50.1, lon: 8.7, colo: 'FRA' },
  singapore: { lat: 1.3, lon: 103.8, colo: 'SIN' },
  newYork: { lat: 40.7, lon: -74.0, colo: 'EWR' },
  seattle: { lat: 47.6, lon: -122.3, colo: 'SEA' },
}

export const NOW = 1_800_000_000_000

export function view(fields: Partial<HealthView>): HealthView {
  return { circuit: 'closed', coolingUntil: null, errorRate: 0, samples: 10, ttfbMs: null, tokensPerSecond: null, lastSeen: NOW, ...fields }
}

export function chatRequest(fields: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'x/chat', messages: [{ role: 'user', content: 'hi' }], ...fields }
}

/** Plans and returns the provider ids in order. */
type PlanOptions = Partial<Omit<PlanInput, 'client'>> & { healthy?: Record<string, HealthView>; client?: Geo | null }

export function route(fields: Partial<ChatRequest>, options: PlanOptions = {}): string[] {
  return plan(fields, options).endpoints.map((e) => (e.model.id === 'x/chat' ? e.provider.id : `${e.model.id}@${e.provider.id}`))
}

/** Plans with every trace built (tests read them); `client` as a value, read when the planner asks. */
export function plan(fields: Partial<ChatRequest>, options: PlanOptions = {}) {
  return planRoute(planInput(fields, options))
}

export function planInput(fields: Partial<ChatRequest>, options: PlanOptions = {}): PlanInput {
  const request = chatRequest(fields)
  const { healthy = {}, client = null, ...rest } = options
  return {
    catalog,
    request,
    preferences: request.provider ?? null,
    isLive: (p) => p.apiKeyEnv === 'KEY',
    health: (key) => healthy[key],
    client: () => client,
    sessionHeader: () => null,
    trace: true,
    now: NOW,
    random: () => 0,
    maxAttempts: 10,
    tieBandMs: 0,
    minSamples: 5,
    staleMs: 15_000,
    exploring: () => false,
    mode: 'nearest-healthy',
    ...rest,
  }
}

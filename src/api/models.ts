import { Hono } from 'hono'
import type { CatalogModel, Endpoint } from '../catalog/snapshot'
import { currentCatalog } from '../catalog/store'
import { secretNamed } from '../env'
import type { AppEnv } from './context'

/** The public catalog in OpenRouter's shape: the models this gateway can serve right now. */
export const models = new Hono<AppEnv>()

models.get('/models', async (c) => {
  const catalog = await currentCatalog(c.env, (p) => c.executionCtx.waitUntil(p), c.var.clock())
  const data = [...catalog.models.values()].flatMap((model) => {
    const live = model.endpoints.filter((endpoint) => secretNamed(c.env, endpoint.provider.apiKeyEnv) !== undefined)
    return live.length > 0 ? [modelView(model, live)] : []
  })
  return c.json({ data })
})

/** Prices and limits shown are those of the endpoint tried first. */
function modelView(model: CatalogModel, live: Endpoint[]) {
  const { spec } = model
  const first = live[0]!
  const pricing = first.spec.pricing
  return {
    id: spec.id,
    canonical_slug: spec.id,
    name: spec.name,
    created: spec.created,
    description: spec.description,
    context_length: Math.max(...live.map((endpoint) => endpoint.contextLength)),
    architecture: {
      modality: `${spec.modalities.input.join('+')}->${spec.modalities.output.join('+')}`,
      input_modalities: spec.modalities.input,
      output_modalities: spec.modalities.output,
      tokenizer: 'Other',
      instruct_type: null,
    },
    pricing: {
      prompt: pricing.prompt,
      completion: pricing.completion,
      request: pricing.request ?? '0',
      image: '0',
      web_search: '0',
      internal_reasoning: '0',
      ...(pricing.cacheRead ? { input_cache_read: pricing.cacheRead } : {}),
      ...(pricing.cacheWrite ? { input_cache_write: pricing.cacheWrite } : {}),
    },
    top_provider: {
      context_length: first.contextLength,
      max_completion_tokens: first.spec.maxCompletionTokens,
      is_moderated: false,
    },
    per_request_limits: null,
    supported_parameters: [...new Set(live.flatMap((endpoint) => endpoint.spec.supportedParameters))].sort(),
    default_parameters: null,
  }
}

import type { CatalogModel, CatalogSnapshot } from '../catalog/snapshot'
import type { ChatRequest } from '../formats/openai/request'
import { honoursSoftParameters } from './filters'

/**
 * OpenRouter's Auto Router id, `openrouter/auto`: the gateway picks the model. OpenRouter classifies
 * the prompt and ranks models by their share of its spend; Meridian does not guess at the task. It
 * serves the operator's auto pool: the catalog's `auto` list in its order (every catalog model, in
 * catalog order, when there is none). The pool's models are planned one after another, as a
 * `models` fallback list is, so the routing filters drop each model that cannot serve this request
 * (its images, tools, context length, output cap, provider preferences, price limits) and the
 * answer comes from the first one left; its `model` names it. A request for structured output
 * (`response_format`) tries the models with an endpoint that honours it first. The `auto-router`
 * plugin narrows the pool: `allowed_models` and `excluded_models` take ids or `author/*` patterns.
 */
export const AUTO_MODEL = 'openrouter/auto'

/**
 * Candidates an auto plan carries into admission (a plain plan carries 32): the key's allow-lists
 * are applied there, and must still find their models deep in a big pool.
 */
export const AUTO_CANDIDATES = 256

/** The pool's models, in order, that the request's `auto-router` plugin allows (none may be left). */
export function autoPool(catalog: CatalogSnapshot, request: ChatRequest): CatalogModel[] {
  const listed = catalog.document.auto
  const ids = listed?.length ? listed : [...catalog.models.keys()]
  const settings = request.plugins?.find((plugin) => plugin.id === 'auto-router' && plugin.enabled !== false)
  const allowed = settings?.allowed_models?.length ? settings.allowed_models : null
  const excluded = settings?.excluded_models ?? []
  const pool = ids.flatMap((id) => {
    const model = catalog.models.get(id)
    if (!model || (allowed && !allowed.some((pattern) => matches(pattern, id))) || excluded.some((pattern) => matches(pattern, id))) return []
    return [model]
  })
  // Parameters an endpoint may lack and still serve (structured output) only reorder a model's own
  // endpoints; across the pool, the models that honour them go first.
  const honours = (model: CatalogModel) => model.endpoints.some((endpoint) => honoursSoftParameters(endpoint, request))
  return [...pool.filter(honours), ...pool.filter((model) => !honours(model))]
}

/** `author/*` matches every model of that author; anything else is an id, matched whole. */
function matches(pattern: string, id: string): boolean {
  return pattern.endsWith('/*') ? id.startsWith(pattern.slice(0, -1)) : pattern === id
}

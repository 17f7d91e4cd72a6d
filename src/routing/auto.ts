import type { CatalogModel, CatalogSnapshot } from '../catalog/snapshot'
import type { ChatRequest } from '../formats/openai/request'

/**
 * OpenRouter's Auto Router id, `openrouter/auto`: the gateway picks the model. OpenRouter classifies
 * the prompt and ranks models by their share of its spend; Meridian does not guess at the task. It
 * serves the operator's auto pool: the catalog's `auto` list in its order (every catalog model, in
 * catalog order, when there is none). The pool's models are planned one after another, as a
 * `models` fallback list is, so the routing filters drop each model that cannot serve this request
 * (its tools, images or files, context length, output cap, structured output, provider
 * preferences, price limits) and the answer comes from the first one left that is up; its `model`
 * names it. The `auto-router` plugin narrows the pool: `allowed_models` and `excluded_models` take
 * ids or `author/*` patterns.
 */
export const AUTO_MODEL = 'openrouter/auto'

/** The pool's models, in order, that the request's `auto-router` plugin allows (none may be left). */
export function autoPool(catalog: CatalogSnapshot, request: ChatRequest): CatalogModel[] {
  const ids = catalog.document.auto ?? [...catalog.models.keys()]
  const settings = request.plugins?.find((plugin) => plugin.id === 'auto-router' && plugin.enabled !== false)
  const allowed = settings?.allowed_models?.length ? settings.allowed_models : null
  const excluded = settings?.excluded_models ?? []
  return ids.flatMap((id) => {
    const model = catalog.models.get(id)
    if (!model || (allowed && !allowed.some((pattern) => matches(pattern, id))) || excluded.some((pattern) => matches(pattern, id))) return []
    return [model]
  })
}

/** `author/*` matches every model of that author; anything else is an id, matched whole. */
function matches(pattern: string, id: string): boolean {
  return pattern.endsWith('/*') ? id.startsWith(pattern.slice(0, -1)) : pattern === id
}

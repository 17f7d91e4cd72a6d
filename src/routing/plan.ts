import type { ProviderSpec } from '../catalog/schema'
import type { CatalogSnapshot, Endpoint } from '../catalog/snapshot'
import { GatewayError } from '../errors'
import type { ChatRequest } from '../formats/openai/request'

/**
 * Which endpoints to try, in order, for a request. Pure. This is the basic form: the requested
 * model, then each `models` fallback, each with its endpoints in catalog order, keeping only
 * providers that are live (their API key secret is set).
 */

export interface PlanInput {
  catalog: CatalogSnapshot
  request: ChatRequest
  isLive: (provider: ProviderSpec) => boolean
  maxAttempts: number
}

export function requestedModels(request: ChatRequest): string[] {
  const ids = [request.model, ...(request.models ?? [])].filter((id): id is string => id !== undefined)
  return [...new Set(ids)]
}

export function planRoute({ catalog, request, isLive, maxAttempts }: PlanInput): Endpoint[] {
  const requested = requestedModels(request)
  if (requested.length === 0) {
    throw new GatewayError(400, 'invalid_request', 'Invalid request: model: required (or give "models")', {
      issues: [{ path: 'model', message: 'required' }],
    })
  }
  const known = requested.flatMap((id) => {
    const model = catalog.models.get(id)
    return model ? [model] : []
  })
  if (known.length === 0) {
    throw new GatewayError(404, 'not_found', `No endpoints found for model ${quoteList(requested)}: not in the catalog`, {
      requested_models: requested,
    })
  }
  const endpoints = known.flatMap((model) => model.endpoints)
  const live = endpoints.filter((endpoint) => isLive(endpoint.provider))
  if (live.length === 0) {
    const unconfigured = [...new Set(endpoints.map((endpoint) => endpoint.provider.apiKeyEnv))]
    throw new GatewayError(
      503,
      'provider_unavailable',
      `No provider is available for ${quoteList(known.map((model) => model.spec.id))}: none of its providers has an API key configured`,
      { requested_models: requested, missing_secrets: unconfigured },
    )
  }
  return live.slice(0, maxAttempts)
}

function quoteList(ids: string[]): string {
  return ids.map((id) => `"${id}"`).join(', ')
}

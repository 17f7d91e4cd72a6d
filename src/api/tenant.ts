import { Hono } from 'hono'
import { nanoToUsd } from '../catalog/pricing'
import { GatewayError } from '../errors'
import { keyCall } from '../gateway/admissions'
import { keyObject } from '../tenancy/directory'
import type { GenerationRecord } from '../tenancy/generation'
import type { Policy } from '../tenancy/policy'
import { keyView } from '../tenancy/view'
import { presentsAdmin, requireTenant, usableKey } from './auth'
import type { AppEnv } from './context'

/** What a tenant key may ask about itself: GET /key and GET /generation. */
export const tenant = new Hono<AppEnv>()

/**
 * The calling key's usage and limits; `/auth/key` is OpenRouter's older path for it, still accepted
 * there. The admin token is answered too, as OpenRouter answers a management key (management
 * clients check their credential this way): `is_management_key: true`, no limits, no usage.
 */
tenant.on(
  'GET',
  ['/key', '/auth/key'],
  async (c, next) => ((await presentsAdmin(c)) ? c.json({ data: keyInfo(managementView, null, true) }) : requireTenant(c, next)),
  async (c) => {
    const now = c.get('clock')()
    const state = await usableKey(c.env, c.get('keyHash'), now)
    return c.json({ data: keyInfo(keyView(state.record, state.ledger, now), state.record.policy, false) })
  },
)

/** The admin token's view: a key with no limits that spends nothing itself. */
const managementView = {
  name: 'management (ADMIN_TOKEN)',
  label: 'management (ADMIN_TOKEN)',
  disabled: false,
  limit: null,
  limit_reset: null,
  limit_remaining: null,
  include_byok_in_limit: false,
  usage: 0,
  usage_daily: 0,
  usage_weekly: 0,
  usage_monthly: 0,
  byok_usage: 0,
  byok_usage_daily: 0,
  byok_usage_weekly: 0,
  byok_usage_monthly: 0,
  rate_limit: null,
  max_concurrency: null,
  allowed_models: null,
  allowed_providers: null,
  expires_at: null,
  creator_user_id: null,
  workspace_id: 'default',
}

/** OpenRouter's key info around a view: its (legacy) rate_limit shape, which its SDK requires, and Meridian's own limits after it. */
function keyInfo<View extends { rate_limit: unknown }>(view: View, policy: Pick<Policy, 'requestsPerMinute' | 'tokensPerMinute'> | null, management: boolean) {
  const tokensPerMinute = policy?.tokensPerMinute ?? null
  return {
    ...view,
    rate_limit: {
      requests: policy?.requestsPerMinute ?? -1,
      interval: '1m',
      note: tokensPerMinute === null ? 'requests per minute' : `requests per minute; also ${tokensPerMinute} tokens per minute`,
    },
    meridian_rate_limit: view.rate_limit,
    is_free_tier: false,
    is_management_key: management,
    is_provisioning_key: management,
    // Fields of OpenRouter's key info that have no meaning here, present so strict clients validate.
    allowed_data_regions: [],
    free_model_daily_requests: { limit: 0, remaining: 0, used: 0 },
    organization_id: null,
  }
}

tenant.get('/generation', requireTenant, async (c) => {
  const id = c.req.query('id')
  if (!id) throw new GatewayError(400, 'invalid_request', 'Invalid request: id: required (GET /generation?id=gen-...)')
  await usableKey(c.env, c.get('keyHash'), c.get('clock')())
  // Records live in the key's own object: another key's generation is simply not there.
  const record = await keyCall(() => keyObject(c.env, c.get('keyHash')).generation(id), 'generation read')
  if (!record) throw new GatewayError(404, 'not_found', `No generation ${id} for this key`)
  return c.json({ data: generationView(record) })
})

/** OpenRouter's generation shape, plus Meridian's attempt log and status. */
function generationView(record: GenerationRecord) {
  return {
    id: record.id,
    created_at: new Date(record.created_at).toISOString(),
    model: record.model ?? record.model_requested,
    model_requested: record.model_requested,
    provider_name: record.provider_name,
    provider: record.provider,
    streamed: record.streamed,
    cancelled: record.cancelled,
    status: record.status,
    http_status: record.http_status,
    finish_reason: record.finish_reason,
    native_finish_reason: record.native_finish_reason,
    tokens_prompt: record.tokens_prompt,
    tokens_completion: record.tokens_completion,
    native_tokens_prompt: record.tokens_prompt,
    native_tokens_completion: record.tokens_completion,
    native_tokens_cached: record.tokens_cached,
    native_tokens_reasoning: record.tokens_reasoning,
    usage_estimated: record.usage_estimated,
    total_cost: nanoToUsd(record.cost_nano),
    usage: nanoToUsd(record.cost_nano),
    is_byok: false,
    latency: record.ttfb_ms,
    generation_time: record.latency_ms,
    provider_responses: record.attempts.map((attempt) => ({
      provider: attempt.provider,
      model: attempt.model,
      status: attempt.status,
      outcome: attempt.outcome,
      latency: attempt.latencyMs,
    })),
    error: record.error,
    api_type: record.api_type,
    data_region: 'global',
    origin: '',
    workspace_id: 'default',
    // OpenRouter fields Meridian does not track, present (null) so strict clients validate.
    app_id: null,
    cache_discount: null,
    external_user: null,
    http_referer: null,
    moderation_latency: null,
    native_tokens_completion_images: null,
    num_fetches: null,
    num_input_audio_prompt: null,
    num_media_completion: null,
    num_media_prompt: null,
    num_search_results: null,
    preset_id: null,
    router: null,
    service_tier: null,
    upstream_id: null,
    upstream_inference_cost: null,
    user_agent: null,
    web_search_engine: null,
  }
}

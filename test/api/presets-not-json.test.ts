import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { PRESETS_KV_KEY } from '../../src/routing/preset-store'
import { adminFetch, chat, setUpGateway, type ErrorJson } from '../support/gateway'

/**
 * A presets document in KV that is not JSON (written by hand, cut short) is handled as one that
 * fails validation is (routing/preset-store.ts: "serving none", logged): a request naming a preset
 * gets the preset's 404, not a masked 500, and the operator can still read the presets route.
 * (The catalog treats a non-JSON document this way already: catalog/store.ts parsedJson.)
 */

const tenant = setUpGateway()

describe('a presets document in KV that is not JSON', () => {
  it('leaves requests naming a preset with a clear error, and GET /v1/admin/presets answering', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    // Before any read of this isolate, so that nothing valid is memoised.
    await env.KV.put(PRESETS_KV_KEY, '{"coding": {"model": "test/chat"')
    const response = await chat(tenant.key, { model: '@preset/coding', messages: [{ role: 'user', content: 'Review this.' }] })
    const { error } = (await response.json()) as ErrorJson
    expect(error.message).not.toBe('Internal gateway error')
    expect(response.status).toBe(404)

    const listed = await adminFetch('/v1/admin/presets')
    expect(listed.status).not.toBe(500)
  })
})

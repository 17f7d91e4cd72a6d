import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { PRESETS_KV_KEY } from '../../src/routing/preset-store'
import { chat, setUpGateway, type ErrorJson } from '../support/gateway'

/**
 * KV failing to answer an isolate's first read of the presets (routing/preset-store.ts) is a 503
 * to retry, logged, as the catalog's is (catalog/store.ts): not a masked 500.
 */

const tenant = setUpGateway()

describe('presets that KV cannot read', () => {
  it('give a request naming a preset a 503 with Retry-After, and are logged', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const get = env.KV.get.bind(env.KV) as (key: string) => Promise<string | null>
    vi.spyOn(env.KV, 'get').mockImplementation(((key: string) =>
      key === PRESETS_KV_KEY ? Promise.reject(new Error('KV GET failed: 500 Internal Server Error')) : get(key)) as typeof env.KV.get)
    const response = await chat(tenant.key, { model: '@preset/coding', messages: [{ role: 'user', content: 'Review this.' }] })
    const { error } = (await response.json()) as ErrorJson
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('1')
    expect(error.message).toMatch(/presets could not be read/i)
    expect(logged).toHaveBeenCalledWith('presets could not be read', 'KV GET failed: 500 Internal Server Error')
  })
})

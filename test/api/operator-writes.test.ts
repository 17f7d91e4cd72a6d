import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CATALOG_KV_KEY } from '../../src/catalog/store'
import { KV_MAX_VALUE_BYTES, storeDocument } from '../../src/kv-write'
import { testCatalog } from '../support/catalog'
import { adminFetch, installCatalog } from '../support/gateway'
import { adminWithKv, oneWriteASecond, writesRefused } from '../support/kv'

/**
 * The operator's documents (catalog, presets, the sync's schedule) under KV's rules: one write a
 * second to a key, and values of at most 25 MiB. A write KV refuses is an answer that says so,
 * never an internal error, and leaves the stored document as it was.
 */

afterEach(() => vi.restoreAllMocks())

const put = (body: unknown): RequestInit => ({ method: 'PUT', body: JSON.stringify(body) })

describe('writes of the operator’s documents', () => {
  it('stores two presets set one after the other within a second (the second write waits its turn)', async () => {
    await installCatalog()
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const kv = oneWriteASecond(env.KV)
    expect((await adminWithKv('/v1/admin/presets/first', put({ model: 'test/chat' }), kv)).status).toBe(200)
    expect((await adminWithKv('/v1/admin/presets/second', put({ model: 'test/other' }), kv)).status).toBe(200)
    const stored = (await (await adminFetch('/v1/admin/presets')).json()) as Record<string, unknown>
    expect(Object.keys(stored)).toEqual(expect.arrayContaining(['first', 'second']))
  })

  it('answers a catalog KV will not take with a 503 to retry, and keeps the catalog it had', async () => {
    await installCatalog()
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const before = await env.KV.get(CATALOG_KV_KEY)
    const changed = { ...structuredClone(testCatalog), version: 'refused' }
    const response = await adminWithKv('/v1/admin/catalog', put(changed), writesRefused(env.KV, (key) => key === CATALOG_KV_KEY))
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('1')
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/catalog.*not stored/)
    expect(await env.KV.get(CATALOG_KV_KEY)).toBe(before)
    expect(((await (await adminFetch('/v1/admin/catalog')).json()) as { version: string }).version).toBe('test')
  })

  it('answers presets KV will not take with a 503, not an internal error', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const response = await adminWithKv('/v1/admin/presets', put({ coding: { model: 'test/chat' } }), writesRefused(env.KV, (key) => key.startsWith('presets')))
    expect(response.status).toBe(503)
  })

  it('refuses a document larger than KV takes with a 413, without trying to write it', async () => {
    const puts = vi.fn(async () => {})
    const kv = { put: puts } as unknown as KVNamespace
    // Multi-byte text: the limit is in bytes, not characters.
    const text = 'é'.repeat(KV_MAX_VALUE_BYTES / 2 + 1)
    await expect(storeDocument(kv, 'catalog/v1', text, 'catalog')).rejects.toMatchObject({ status: 413, type: 'payload_too_large' })
    expect(puts).not.toHaveBeenCalled()
    await storeDocument(kv, 'catalog/v1', 'é'.repeat(KV_MAX_VALUE_BYTES / 2), 'catalog')
    expect(puts).toHaveBeenCalledTimes(1)
  })
})

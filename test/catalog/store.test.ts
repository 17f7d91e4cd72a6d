import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { CATALOG_KV_KEY, loadFromKv } from '../../src/catalog/store'
import { testCatalog } from '../support/catalog'

describe('reading the catalog from KV', () => {
  it('compiles a document once: a refresh that finds it unchanged serves the same snapshot, a changed one a new one', async () => {
    await env.KV.put(CATALOG_KV_KEY, JSON.stringify({ ...testCatalog, version: 'first' }))
    const first = await loadFromKv(env)
    expect(await loadFromKv(env)).toBe(first)
    await env.KV.put(CATALOG_KV_KEY, JSON.stringify({ ...testCatalog, version: 'second' }))
    const second = await loadFromKv(env)
    expect(second).not.toBe(first)
    expect(second.document.version).toBe('second')
    expect(await loadFromKv(env)).toBe(second)
  })
})

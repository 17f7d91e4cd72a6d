import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { ADMIN_TOKEN, BASE, installCatalog } from '../support/gateway'

/**
 * KV takes one write a second to a key. A key changed (or deleted) right after its creation writes
 * its index entry twice within the second: the admin API still answers with the change made.
 */

/** The KV binding with KV's documented rule enforced: a second write to a key within a second fails. */
function oneWriteASecond(inner: KVNamespace): KVNamespace {
  const lastWrite = new Map<string, number>()
  const limited = (key: string) => {
    const now = Date.now()
    const last = lastWrite.get(key)
    if (last !== undefined && now - last < 1_000) throw new Error('KV PUT failed: 429 Too Many Requests')
    lastWrite.set(key, now)
  }
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'put') return (key: string, value: string, options?: KVNamespacePutOptions) => (limited(key), target.put(key, value, options))
      if (property === 'delete') return (key: string) => (limited(key), target.delete(key))
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

async function admin(path: string, init: RequestInit, kv: KVNamespace): Promise<Response> {
  const ctx = createExecutionContext()
  const request = new Request(`${BASE}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } })
  const response = await worker.fetch(request, { ...env, KV: kv }, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

/** The KV binding with every write to the key index refused (KV down for writes, or its daily writes spent). */
function indexWritesRefused(inner: KVNamespace): KVNamespace {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'put') {
        return (key: string, value: string, options?: KVNamespacePutOptions) =>
          key.startsWith('keys/') ? Promise.reject(new Error('KV PUT failed: 503')) : target.put(key, value, options)
      }
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

describe('the key index under KV’s one write a second', () => {
  it('lets a key be disabled, then deleted, right after its creation', async () => {
    await installCatalog()
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const kv = oneWriteASecond(env.KV)
    const created = (await (await admin('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'provisioned' }) }, kv)).json()) as { data: { hash: string } }
    const patched = await admin(`/v1/keys/${created.data.hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) }, kv)
    expect(patched.status).toBe(200)
    expect(((await patched.json()) as { data: { disabled: boolean } }).data.disabled).toBe(true)
    const listed = (await env.KV.getWithMetadata<{ disabled: boolean }>(`keys/${created.data.hash}`)).metadata
    expect(listed?.disabled).toBe(true)
    const deleted = await admin(`/v1/keys/${created.data.hash}`, { method: 'DELETE' }, kv)
    expect(deleted.status).toBe(200)
    expect(await env.KV.get(`keys/${created.data.hash}`)).toBeNull()
  })
})

describe('a new key whose index entry cannot be written', () => {
  it('is not handed out: no listing could find it, so the operator could never see or revoke it there', async () => {
    await installCatalog()
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const created = await admin('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'unindexed' }) }, indexWritesRefused(env.KV))
    expect(created.status).toBeGreaterThanOrEqual(500)
    expect(await created.text()).not.toMatch(/sk-/)
  })
})

import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { installCatalog } from '../support/gateway'
import { adminWithKv as admin, oneWriteASecond, writesRefused } from '../support/kv'

/**
 * KV takes one write a second to a key. A key changed (or deleted) right after its creation writes
 * its index entry twice within the second: the admin API still answers with the change made.
 */

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
    const created = await admin('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'unindexed' }) }, writesRefused(env.KV, (key) => key.startsWith('keys/')))
    expect(created.status).toBeGreaterThanOrEqual(500)
    expect(await created.text()).not.toMatch(/sk-/)
  })
})

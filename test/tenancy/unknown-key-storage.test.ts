import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { keyObject } from '../../src/tenancy/directory'
import { ALPHA, BETA } from '../support/catalog'
import { adminFetch, chat, createKey, gatewayFetch, installCatalog } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * Anyone can send a made-up bearer token, and each one names a key object by its hash. An object
 * for a key that does not exist (never created, or deleted) keeps no storage: otherwise every guess
 * would leave a billed SQLite database behind for good.
 */
beforeAll(() => installCatalog())

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/** What the object named by `hash` keeps: its KV entries and its own SQL tables. */
function storedBy(hash: string): Promise<{ kv: string[]; tables: string[] }> {
  return runInDurableObject(keyObject(env, hash), (_instance, state) => ({
    kv: [...state.storage.kv.list()].map(([name]) => name),
    tables: state.storage.sql
      .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'`)
      .toArray()
      .map((row) => row.name),
  }))
}

describe('a key that does not exist leaves nothing stored', () => {
  it('after requests with a guessed key', async () => {
    const guess = `sk-mer-v1-${'0123456789abcdef'.repeat(4)}`
    const refused = await chat(guess, { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] })
    expect(refused.status).toBe(401)
    expect((await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${guess}` } })).status).toBe(401)
    expect((await gatewayFetch('/v1/generation?id=gen-1', { headers: { authorization: `Bearer ${guess}` } })).status).toBe(401)
    expect(await storedBy(await sha256Hex(guess))).toEqual({ kv: [], tables: [] })
  })

  it('after its key is deleted, and the key it was served', async () => {
    const { key, hash } = await createKey({ name: 'short-lived' })
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()), [BETA]: () => jsonResponse(openaiCompletion()) })
    expect((await chat(key, { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200)
    expect((await storedBy(hash)).tables).toEqual(expect.arrayContaining(['reservations', 'generations', 'responses']))
    expect((await adminFetch(`/v1/keys/${hash}`, { method: 'DELETE' })).status).toBe(200)
    expect((await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })).status).toBe(401)
    expect(await storedBy(hash)).toEqual({ kv: [], tables: [] })
  })
})

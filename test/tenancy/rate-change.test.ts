import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Admission, Settlement } from '../../src/tenancy/protocol'
import { ALPHA } from '../support/catalog'
import { adminFetch, chat, createKey, forgetServedHealth, installCatalog } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * A key's rate limit changed while another isolate holds tickets of it: the release of those
 * unused tickets, landing after the change has answered, must refund nothing into the new buckets
 * (docs/quotas.md: a change bites on the very next request).
 */

beforeAll(() => installCatalog())
afterEach(async () => {
  vi.restoreAllMocks()
  await forgetServedHealth()
})

const stub = (hash: string) => env.KEYS.get(env.KEYS.idFromName(hash))
const hi = [{ role: 'user', content: 'hi' }]

/**
 * Another isolate busy with the key: it calls the key's object as the gateway does (admissions.ts),
 * offering spares, and is granted tickets it then does not use.
 */
async function ticketsInAnotherIsolate(hash: string, count: number) {
  const now = Date.now()
  const spares = Array.from({ length: count }, (_, i) => `ticket-${now}-other-isolate-${i}`)
  const request = { now, candidates: [{ model: 'test/chat', provider: 'alpha', worstCaseNano: 1_000 }], promptTokens: 1, maxAttempts: 4 }
  const [own] = (await stub(hash).admit([{ id: `gen-other-${now}`, request, spares }])) as Admission[]
  if (!own?.ok || !own.tickets) throw new Error('no tickets granted')
  // The release that isolate's outbox sends once the lease has ended (admissions.ts).
  const release: Settlement[] = own.tickets.ids.map((id) => ({ id, now: own.tickets!.until, costNano: 0, tokens: 0, record: null }))
  return { granted: own.tickets.ids.length, release }
}

describe('a rate limit changed while another isolate holds tickets', () => {
  it.each([
    ['set on a key that had none', {}],
    ['lowered', { rate_limit: { requests_per_minute: 1_000 } }],
  ])('admits no more than the new requests_per_minute when the unused tickets’ release lands after the change (%s)', async (name, before) => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const { key, hash } = await createKey({ name: `rpm ${name}`, ...before })
    const other = await ticketsInAnotherIsolate(hash, 16)
    expect(other.granted).toBeGreaterThan(0)
    expect((await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: JSON.stringify({ rate_limit: { requests_per_minute: 2 } }) })).status).toBe(200)
    // The change has answered: every request from here on is judged at 2 a minute.
    const statuses: number[] = []
    statuses.push((await chat(key, { model: 'test/chat', messages: hi })).status)
    statuses.push((await chat(key, { model: 'test/chat', messages: hi })).status)
    // The other isolate's release arrives now (its flush slept a busy round past the lease's end).
    await stub(hash).settle(other.release)
    for (let i = 0; i < 3; i++) statuses.push((await chat(key, { model: 'test/chat', messages: hi })).status)
    expect(statuses).toEqual([200, 200, 429, 429, 429])
  })

  it('still refunds a ticket released into the buckets it was taken from', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const { key, hash } = await createKey({ name: 'rpm unchanged', rate_limit: { requests_per_minute: 40 } })
    const other = await ticketsInAnotherIsolate(hash, 16)
    await stub(hash).settle(other.release)
    const statuses: number[] = []
    for (let i = 0; i < 40; i++) statuses.push((await chat(key, { model: 'test/chat', messages: hi })).status)
    // The first admission's own request and nothing of the released tickets is counted: 39 of 40 more fit.
    expect(statuses.filter((status) => status === 200)).toHaveLength(39)
  })
})

describe('a rate limit raised', () => {
  it('bites on the very next request: what was used of the old limit stays used, the rest of the new one is there', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const { key, hash } = await createKey({ name: 'rpm raised', rate_limit: { requests_per_minute: 1 } })
    expect((await chat(key, { model: 'test/chat', messages: hi })).status).toBe(200)
    expect((await chat(key, { model: 'test/chat', messages: hi })).status).toBe(429)
    expect((await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: JSON.stringify({ rate_limit: { requests_per_minute: 3 } }) })).status).toBe(200)
    // One request made this minute, of three: two more fit, not a third.
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await chat(key, { model: 'test/chat', messages: hi })).status)
    expect(statuses).toEqual([200, 200, 429])
  })
})

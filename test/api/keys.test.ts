import { env } from 'cloudflare:workers'
import { createExecutionContext, runInDurableObject } from 'cloudflare:test'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { keyObject } from '../../src/tenancy/directory'
import { ADMIN_TOKEN, adminFetch, chat, createKey, gatewayFetch, installCatalog, type ErrorJson } from '../support/gateway'
import { ALPHA } from '../support/catalog'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

const ask = { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] }

beforeAll(() => installCatalog())
afterEach(() => {
  vi.restoreAllMocks()
})

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

describe('POST /v1/keys', () => {
  it('returns the plaintext key once, in OpenRouter shape, and stores only its hash', async () => {
    const response = await adminFetch('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'team-a' }) })
    expect(response.status).toBe(201)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const body = (await response.json()) as { key: string; data: Record<string, unknown> }
    expect(body.key).toMatch(/^sk-mer-v1-[0-9a-f]{64}$/)
    expect(body.data).toMatchObject({ name: 'team-a', disabled: false, limit: null, expires_at: null })
    expect(body.data.hash).toBe(await sha256Hex(body.key))
    expect(body.data.label).toBe(`${body.key.slice(0, 13)}...${body.key.slice(-3)}`)

    const stub = env.KEYS.get(env.KEYS.idFromName(body.data.hash as string))
    const stored = await runInDurableObject(stub, (_instance, state) => JSON.stringify([...state.storage.kv.list()]))
    expect(stored).toContain(body.data.hash as string)
    expect(stored).not.toContain(body.key)

    const fetched = await adminFetch(`/v1/keys/${body.data.hash}`)
    expect(JSON.stringify(await fetched.json())).not.toContain(body.key)
  })

  it('takes the admin token stored with a trailing newline (echo token | wrangler secret put), trimmed as presented tokens are', async () => {
    const request = new Request('http://gateway.test/v1/keys?offset=0', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    const response = await worker.fetch(request, { ...env, ADMIN_TOKEN: `${ADMIN_TOKEN}\n` }, createExecutionContext())
    expect(response.status).toBe(200)
    const blank = await worker.fetch(request, { ...env, ADMIN_TOKEN: ' \n' }, createExecutionContext())
    expect(blank.status).toBe(403)
  })

  it('takes an admin token that happens to start like a tenant key, and still refuses tenant keys', async () => {
    const token = 'sk-mer-v1-operator-chosen-admin-token'
    const call = (bearer: string) =>
      worker.fetch(new Request('http://gateway.test/v1/keys', { headers: { authorization: `Bearer ${bearer}` } }), { ...env, ADMIN_TOKEN: token }, createExecutionContext())
    expect((await call(token)).status).toBe(200)
    const tenant = await call((await createKey({ name: 'not an operator' })).key)
    expect(tenant.status).toBe(403)
    expect(((await tenant.json()) as ErrorJson).error.message).toBe('Tenant API keys cannot call admin endpoints')
  })

  it('refuses fields it does not enforce, naming them', async () => {
    const response = await adminFetch('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'x', workspace_id: 'w1' }) })
    expect(response.status).toBe(400)
    const body = (await response.json()) as ErrorJson
    expect(body.error.message).toContain('workspace_id')
  })

  it('refuses a positive limit under one nano-USD, which would be stored as 0 and refuse every request', async () => {
    const response = await adminFetch('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'x', limit: 1e-12 }) })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toMatch(/limit: must be 0 or at least 0\.000000001/)
    expect((await adminFetch('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'x', limit: 1e-9 }) })).status).toBe(201)
    expect((await adminFetch('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'x', limit: 0 }) })).status).toBe(201)
  })

  it('takes the workspace and creator a key reports (as OpenRouter clients may send them back), and no others', async () => {
    const response = await adminFetch('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'x', workspace_id: 'default', creator_user_id: null }) })
    expect(response.status).toBe(201)
    const { data } = (await response.json()) as { data: { workspace_id: string; creator_user_id: null } }
    expect(data).toMatchObject({ workspace_id: 'default', creator_user_id: null })
    const someone = await adminFetch('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'x', creator_user_id: 'user_1' }) })
    expect(someone.status).toBe(400)
    expect(((await someone.json()) as ErrorJson).error.message).toContain('creator_user_id')
  })

  it('validates name and expires_at', async () => {
    for (const bad of [{}, { name: '' }, { name: 'x', expires_at: 'tomorrow' }]) {
      const response = await adminFetch('/v1/keys', { method: 'POST', body: JSON.stringify(bad) })
      expect(response.status).toBe(400)
    }
  })

  it('refuses a key that would be born expired, naming expires_at', async () => {
    const response = await adminFetch('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'late', expires_at: '2001-01-01T00:00:00Z' }) })
    expect(response.status).toBe(400)
    const body = (await response.json()) as ErrorJson
    expect(body.error.message).toBe('Invalid key: expires_at: 2001-01-01T00:00:00Z has already passed: a new key must expire later than now')
  })

  it('answers every field of OpenRouter’s Key object when creating, reading and listing, and takes include_byok_in_limit: false', async () => {
    const fields = [
      'hash', 'name', 'label', 'disabled', 'limit', 'limit_remaining', 'limit_reset', 'include_byok_in_limit',
      'usage', 'usage_daily', 'usage_weekly', 'usage_monthly', 'byok_usage', 'byok_usage_daily', 'byok_usage_weekly', 'byok_usage_monthly',
      'created_at', 'updated_at', 'expires_at', 'creator_user_id', 'external_user', 'workspace_id',
    ]
    const created = await adminFetch('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'shape', include_byok_in_limit: false }) })
    expect(created.status).toBe(201)
    const { data } = (await created.json()) as { data: Record<string, unknown> }
    const read = ((await (await adminFetch(`/v1/keys/${data.hash}`)).json()) as { data: Record<string, unknown> }).data
    const listed = ((await (await adminFetch('/v1/keys')).json()) as { data: Record<string, unknown>[] }).data.find((key) => key.hash === data.hash)!
    for (const view of [data, read, listed]) {
      expect(fields.filter((field) => !(field in view))).toEqual([])
      expect(view).toMatchObject({ include_byok_in_limit: false, byok_usage: 0, creator_user_id: null, workspace_id: 'default' })
    }
    const patched = await adminFetch(`/v1/keys/${data.hash}`, { method: 'PATCH', body: JSON.stringify({ include_byok_in_limit: false }) })
    expect(patched.status).toBe(200)
    const included = await adminFetch('/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'byok', include_byok_in_limit: true }) })
    expect(included.status).toBe(400)
    expect(((await included.json()) as ErrorJson).error.message).toBe('Invalid key: include_byok_in_limit: must be false: Meridian has no BYOK usage to include')
  })
})

/** The hashes of one page of GET /v1/keys. */
async function keyPage(query: string): Promise<string[]> {
  const response = await adminFetch(`/v1/keys?${query}`)
  expect(response.status).toBe(200)
  return ((await response.json()) as { data: { hash: string }[] }).data.map((key) => key.hash)
}

describe('GET/PATCH/DELETE /v1/keys', () => {
  it('lists keys, hiding disabled ones unless asked', async () => {
    const a = await createKey({ name: 'list-a' })
    const b = await createKey({ name: 'list-b' })
    await adminFetch(`/v1/keys/${b.hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) })
    const listed = (await (await adminFetch('/v1/keys')).json()) as { data: { hash: string }[] }
    expect(listed.data.map((k) => k.hash)).toContain(a.hash)
    expect(listed.data.map((k) => k.hash)).not.toContain(b.hash)
    const all = (await (await adminFetch('/v1/keys?include_disabled=true')).json()) as { data: { hash: string }[] }
    expect(all.data.map((k) => k.hash)).toEqual(expect.arrayContaining([a.hash, b.hash]))
  })

  it('pages by OpenRouter’s offset, newest first across pages (“the most recent 100 API keys”), counting only the keys listed, disabled ones unless asked', async () => {
    const made: { hash: string }[] = []
    for (const name of ['offset-a', 'offset-b', 'offset-c', 'offset-d', 'offset-e']) {
      made.push(await createKey({ name }))
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const [a, b, c] = [made[0]!, made[1]!, made[2]!]
    await adminFetch(`/v1/keys/${b.hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) })
    // Each offset skips that many keys of the listing as it is shown.
    const walk = async (suffix: string) => {
      const listing = await keyPage(`offset=0${suffix}`)
      for (let offset = 1; offset <= listing.length; offset++) expect(await keyPage(`offset=${offset}${suffix}`)).toEqual(listing.slice(offset))
      return listing
    }
    const active = await walk('')
    expect(active).toEqual(expect.arrayContaining([a.hash, c.hash]))
    expect(active).not.toContain(b.hash)
    expect(active.slice(0, 4)).toEqual(made.filter((key) => key !== b).map((key) => key.hash).reverse())
    expect(await walk('&include_disabled=true')).toEqual(expect.arrayContaining([a.hash, b.hash, c.hash]))
    // A key indexed before the index carried its state is read from its object.
    await env.KV.put(`keys/${b.hash}`, '')
    expect(await keyPage(`offset=${active.length}`)).toEqual([])
    await adminFetch(`/v1/keys/${b.hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: false }) })
    expect(await keyPage(`offset=${active.length}`)).toHaveLength(1)
  })

  it('lists by offset a key that two crossing PATCHes of disabled left enabled', async () => {
    const key = await createKey({ name: 'crossing' })
    // The first PATCH's index write is slow (KV is a network call); the second PATCH runs meanwhile.
    const put = env.KV.put.bind(env.KV)
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let writes = 0
    vi.spyOn(env.KV, 'put').mockImplementation(async (...args: Parameters<typeof env.KV.put>) => {
      if (String(args[0]).startsWith('keys/') && writes++ === 0) await gate
      return put(...args)
    })
    const disabling = adminFetch(`/v1/keys/${key.hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) })
    await vi.waitFor(() => expect(writes).toBe(1))
    expect((await adminFetch(`/v1/keys/${key.hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: false }) })).status).toBe(200)
    release()
    expect((await disabling).status).toBe(200)
    expect(await keyPage('offset=0')).toContain(key.hash)
  })

  it('never lists by offset a disabled key whose index entry still says enabled (KV’s minute elsewhere), and puts the entry right', async () => {
    const key = await createKey({ name: 'disabled-behind' })
    expect((await adminFetch(`/v1/keys/${key.hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) })).status).toBe(200)
    const { metadata } = await env.KV.getWithMetadata<{ disabled: boolean; created_at: string }>(`keys/${key.hash}`)
    await env.KV.put(`keys/${key.hash}`, '', { metadata: { ...metadata!, disabled: false } })
    expect(await keyPage('offset=0')).not.toContain(key.hash)
    expect((await env.KV.getWithMetadata<{ disabled: boolean }>(`keys/${key.hash}`)).metadata?.disabled).toBe(true)
    expect(await keyPage('offset=0&include_disabled=true')).toContain(key.hash)
  })

  it('lists by offset a re-enabled key whose index entry still says disabled, as the cursor listing does, and puts the entry right', async () => {
    const key = await createKey({ name: 'reenabled-behind' })
    expect((await adminFetch(`/v1/keys/${key.hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) })).status).toBe(200)
    expect((await adminFetch(`/v1/keys/${key.hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: false }) })).status).toBe(200)
    const { metadata } = await env.KV.getWithMetadata<{ disabled: boolean; created_at: string }>(`keys/${key.hash}`)
    await env.KV.put(`keys/${key.hash}`, '', { metadata: { ...metadata!, disabled: true } })
    const listing = await keyPage('offset=0')
    expect(listing).toContain(key.hash)
    expect(await keyPage(`offset=${listing.length}`)).toEqual([])
    expect((await env.KV.getWithMetadata<{ disabled: boolean }>(`keys/${key.hash}`)).metadata?.disabled).toBe(false)
  })

  it('reads index entries saying disabled from their keys only up to a bound, the newest, so a listing’s calls stay bounded', async () => {
    const created_at = new Date(Date.now() - 60_000).toISOString()
    const fake = (i: number) => `${'d'.repeat(60)}${String(i).padStart(4, '0')}`
    const put = async (count: number) => {
      for (let i = 0; i < count; i++) await env.KV.put(`keys/${fake(i)}`, '', { metadata: { disabled: true, created_at } })
    }
    // Keys other tests here disabled count towards the bound too.
    const listed = await env.KV.list<{ disabled?: boolean }>({ prefix: 'keys/' })
    const others = listed.keys.filter((entry) => entry.metadata?.disabled === true).length
    const reads = vi.spyOn(env.KEYS, 'idFromName')
    try {
      await put(100 - others)
      await keyPage('offset=0')
      const within = reads.mock.calls.filter(([hash]) => hash.startsWith('d'.repeat(60))).length
      reads.mockClear()
      await put(101 - others)
      // A key re-enabled by a PATCH cut short before its index write, the newest: it is read, and listed.
      const key = await createKey({ name: 'reenabled-among-many' })
      expect((await adminFetch(`/v1/keys/${key.hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) })).status).toBe(200)
      expect((await adminFetch(`/v1/keys/${key.hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: false }) })).status).toBe(200)
      const { metadata } = await env.KV.getWithMetadata<{ disabled: boolean; created_at: string }>(`keys/${key.hash}`)
      await env.KV.put(`keys/${key.hash}`, '', { metadata: { ...metadata!, disabled: true } })
      reads.mockClear()
      expect(await keyPage('offset=0')).toContain(key.hash)
      const past = reads.mock.calls.filter(([hash]) => hash.startsWith('d'.repeat(60))).length
      // 102 entries say disabled: the newest 100 are read, the key among them.
      expect([within, past]).toEqual([100 - others, 100 - others - 1])
    } finally {
      reads.mockRestore()
      for (let i = 0; i < 101; i++) await env.KV.delete(`keys/${fake(i)}`)
    }
  })

  it('drops from the index a key whose delete was cut short, so offsets stay in step', async () => {
    const made = [await createKey({ name: 'left-a' }), await createKey({ name: 'left-b' }), await createKey({ name: 'left-c' })]
    // The delete was cancelled between the object's removal and the index's.
    const gone = made[1]!.hash
    expect(await keyObject(env, gone).remove(Date.now())).toBe(true)
    for (const suffix of ['', '&include_disabled=true']) {
      const listing = await keyPage(`offset=0${suffix}`)
      expect(listing).not.toContain(gone)
      expect(await keyPage(`offset=${listing.length}${suffix}`)).toEqual([])
      expect(await keyPage(`offset=${listing.length - 1}${suffix}`)).toEqual(listing.slice(-1))
    }
    expect(await env.KV.get(`keys/${gone}`)).toBeNull()
  })

  it('pages more than 100 keys as OpenRouter’s clients do (no offset first, then offset = keys seen), and by cursor from an empty one', async () => {
    const made: string[] = []
    for (let i = 0; i < 130; i++) made.push((await createKey({ name: `many-${i}` })).hash)
    const page = async (query: string) => {
      const response = await adminFetch(`/api/v1/keys${query}`)
      expect(response.status).toBe(200)
      const body = (await response.json()) as { data: { hash: string }[]; next_cursor: string | null }
      return { hashes: body.data.map((key) => key.hash), next: body.next_cursor }
    }
    const first = (await page('')).hashes
    expect(first).toEqual((await page('?offset=0')).hashes)
    const seen = [...first, ...(await page(`?offset=${first.length}`)).hashes]
    expect(seen.length).toBe(new Set(seen).size)
    expect(made.filter((hash) => !seen.includes(hash))).toEqual([])
    // KV's own listing, started by an empty cursor and continued by each page's next_cursor.
    const walked: string[] = []
    let listing = await page('?cursor=')
    walked.push(...listing.hashes)
    while (listing.next) {
      listing = await page(`?cursor=${encodeURIComponent(listing.next)}`)
      walked.push(...listing.hashes)
    }
    expect(walked.length).toBe(new Set(walked).size)
    expect(made.filter((hash) => !walked.includes(hash))).toEqual([])
    // A walker of next_cursor that starts from the plain listing goes on by offset, in its order.
    const plain = await page('')
    expect(plain.next).not.toBeNull()
    const rest = await page(`?cursor=${encodeURIComponent(plain.next ?? '')}`)
    expect([...plain.hashes, ...rest.hashes]).toEqual(seen)
    expect(rest.next).toBeNull()
  }, 120_000)

  it('reads an empty offset beside a cursor as no offset', async () => {
    expect((await adminFetch('/v1/keys?offset=&cursor=')).status).toBe(200)
  })

  it('answers 400 for an offset that is not a count, or sent with a cursor', async () => {
    for (const query of ['offset=-1', 'offset=1.5', 'offset=ten', 'offset=1&cursor=abc', 'offset=1&cursor=offset%3A100']) {
      const response = await adminFetch(`/v1/keys?${query}`)
      expect(response.status).toBe(400)
      expect(((await response.json()) as ErrorJson).error.message).toMatch(/offset/)
    }
  })

  it('answers 400 for a cursor KV refuses, and 500 when KV fails otherwise', async () => {
    // Cloudflare's KV rejects a cursor it did not issue; the local simulator lists nothing instead.
    vi.spyOn(env.KV, 'list').mockRejectedValueOnce(new Error('KV LIST failed: 400 Invalid cursor'))
    const response = await adminFetch('/v1/keys?cursor=garbage')
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toContain('cursor')
    // Any other failure of KV is not the client's: a 500.
    vi.spyOn(env.KV, 'list').mockRejectedValueOnce(new Error('KV LIST failed: 503 Service Unavailable'))
    expect((await adminFetch('/v1/keys?cursor=garbage')).status).toBe(500)
  })

  it('renames, and answers 404 for unknown hashes and 400 for malformed ones', async () => {
    const { hash } = await createKey({ name: 'before' })
    const patched = await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: JSON.stringify({ name: 'after' }) })
    expect(((await patched.json()) as { data: { name: string; updated_at: string } }).data).toMatchObject({ name: 'after' })
    expect((await adminFetch(`/v1/keys/${'0'.repeat(64)}`)).status).toBe(404)
    expect((await adminFetch('/v1/keys/not-a-hash')).status).toBe(400)
    expect((await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: '{}' })).status).toBe(400)
  })

  it('changes the rate limits given and keeps those left out; null removes one, or both', async () => {
    const { hash } = await createKey({ name: 'rates', rate_limit: { requests_per_minute: 5, tokens_per_minute: 1000 } })
    const patch = async (body: object) => {
      const response = await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: JSON.stringify(body) })
      expect(response.status).toBe(200)
      return ((await response.json()) as { data: { rate_limit: unknown } }).data.rate_limit
    }
    expect(await patch({ rate_limit: { requests_per_minute: 10 } })).toEqual({ requests_per_minute: 10, tokens_per_minute: 1000 })
    expect(await patch({ rate_limit: { tokens_per_minute: null } })).toEqual({ requests_per_minute: 10, tokens_per_minute: null })
    expect(await patch({ rate_limit: null })).toBeNull()
    expect(await patch({ rate_limit: { tokens_per_minute: 50 } })).toEqual({ requests_per_minute: null, tokens_per_minute: 50 })
  })

  it('deletes a key, after which it is gone everywhere', async () => {
    const { hash } = await createKey({ name: 'doomed' })
    const response = await adminFetch(`/v1/keys/${hash}`, { method: 'DELETE' })
    expect(await response.json()).toEqual({ deleted: true })
    expect((await adminFetch(`/v1/keys/${hash}`)).status).toBe(404)
    expect((await adminFetch(`/v1/keys/${hash}`, { method: 'DELETE' })).status).toBe(404)
  })
})

describe('a key is checked on every request', () => {
  it('stops working on the very next request once disabled, and works again when re-enabled', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const { key, hash } = await createKey()
    expect((await chat(key, ask)).status).toBe(200)
    await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) })
    const refused = await chat(key, ask)
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as ErrorJson).error.message).toBe('API key is disabled')
    await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: false }) })
    expect((await chat(key, ask)).status).toBe(200)
  })

  it('stops working once deleted', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const { key, hash } = await createKey()
    expect((await chat(key, ask)).status).toBe(200)
    await adminFetch(`/v1/keys/${hash}`, { method: 'DELETE' })
    const refused = await chat(key, ask)
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as ErrorJson).error.message).toBe('Invalid API key')
  })

  it('stops working once expired', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const { key, hash } = await createKey({ name: 'temp', expires_at: '2099-01-01T00:00:00Z' })
    expect((await chat(key, ask)).status).toBe(200)
    await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: JSON.stringify({ expires_at: '2001-01-01T00:00:00Z' }) })
    const refused = await chat(key, ask)
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as ErrorJson).error.message).toBe('API key has expired')
  })

  it('refuses unknown and missing keys with 401, and accepts x-api-key', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    expect((await chat('sk-mer-v1-nonsense', ask)).status).toBe(401)
    const missing = await gatewayFetch('/v1/chat/completions', { method: 'POST', body: JSON.stringify(ask) })
    expect(missing.status).toBe(401)
    const { key } = await createKey()
    const viaHeader = await gatewayFetch('/v1/chat/completions', { method: 'POST', headers: { 'x-api-key': key }, body: JSON.stringify(ask) })
    expect(viaHeader.status).toBe(200)
  })

  it('says what is wrong with an Authorization header it cannot read, and reads x-api-key beside one', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const { key } = await createKey()
    const post = (headers: Headers) => gatewayFetch('/v1/chat/completions', { method: 'POST', headers, body: JSON.stringify(ask) })
    const twice = new Headers()
    twice.append('authorization', `Bearer ${key}`)
    twice.append('authorization', `Bearer ${key}`)
    const refused = await post(twice)
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as ErrorJson).error.message).toMatch(/^Malformed Authorization header \(sent more than once\)/)
    const basic = await post(new Headers({ authorization: 'Basic dXNlcjpwYXNz' }))
    expect(((await basic.json()) as ErrorJson).error.message).toMatch(/^Malformed Authorization header \(not of the form "Bearer <key>"\)/)
    expect((await post(new Headers({ authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': key }))).status).toBe(200)
  })

  it.each([
    ['a body that is not JSON', '/v1/chat/completions', '{"model":'],
    ['an unknown model', '/v1/chat/completions', JSON.stringify({ ...ask, model: 'nobody/nothing' })],
    ['a request that fails validation', '/v1/chat/completions', JSON.stringify({ model: 'test/chat', messages: 'hi' })],
    ['an Anthropic request that fails validation', '/v1/messages', JSON.stringify({ model: 'test/chat', messages: [] })],
    ['an unknown embeddings model', '/v1/embeddings', JSON.stringify({ model: 'nobody/nothing', input: 'hi' })],
  ])('refuses an unknown key with 401 before saying anything of %s', async (_, path, body) => {
    const refused = await gatewayFetch(path, { method: 'POST', headers: { authorization: 'Bearer sk-mer-v1-nonsense', 'content-type': 'application/json' }, body })
    expect(refused.status).toBe(401)
    expect(JSON.stringify(await refused.json())).toContain('Invalid API key')
    const { key } = await createKey()
    const known = await gatewayFetch(path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body })
    expect([400, 404]).toContain(known.status)
  })

  it('keeps the answer of a request its key object admitted, even if the key is disabled meanwhile', async () => {
    const { key, hash } = await createKey()
    fakeUpstreams({
      [ALPHA]: async () => {
        await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) })
        return jsonResponse({ error: { message: 'messages: too short' } }, 400)
      },
    })
    const response = await chat(key, ask)
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toContain('too short')
  })

  it('keeps a refused request\'s own answer when the key lookup after it fails', async () => {
    const failing = { idFromName: () => env.KEYS.idFromName('x'), get: () => ({ read: () => Promise.reject(new Error('object reset')) }) }
    const request = new Request('http://gateway.test/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: 'Bearer sk-mer-v1-nonsense', 'content-type': 'application/json' },
      body: '{"model":',
    })
    const response = await worker.fetch(request, { ...env, KEYS: failing as unknown as typeof env.KEYS }, createExecutionContext())
    expect(response.status).toBe(400)
  })

  it('refuses a disabled key with 401 before looking up a generation', async () => {
    const { key, hash } = await createKey()
    await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) })
    const refused = await gatewayFetch('/v1/generation', { headers: { authorization: `Bearer ${key}` } })
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as ErrorJson).error.message).toBe('API key is disabled')
  })
})

describe('admin and tenant credentials are separate', () => {
  it('the admin token cannot call inference', async () => {
    const response = await chat('test-admin-token', ask)
    expect(response.status).toBe(403)
  })

  it('tenant keys cannot call admin endpoints', async () => {
    const { key } = await createKey()
    for (const path of ['/v1/keys', '/v1/admin/catalog']) {
      const response = await gatewayFetch(path, { headers: { authorization: `Bearer ${key}` } })
      expect(response.status).toBe(403)
    }
  })

  it('a wrong or missing admin token is refused', async () => {
    expect((await gatewayFetch('/v1/keys', { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401)
    expect((await gatewayFetch('/v1/keys')).status).toBe(401)
    expect((await gatewayFetch('/api/v1/keys', { headers: { authorization: 'Bearer test-admin-token-but-longer' } })).status).toBe(401)
  })
})

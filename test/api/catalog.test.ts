import { env } from 'cloudflare:workers'
import { createExecutionContext } from 'cloudflare:test'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import bundled from '../../src/catalog/default.json'
import type { CatalogInput } from '../../src/catalog/schema'
import { CATALOG_KV_KEY } from '../../src/catalog/store'
import { testCatalog } from '../support/catalog'
import { adminFetch, createKey, gatewayFetch, installCatalog, type ErrorJson } from '../support/gateway'

describe('the catalog', () => {
  it('is the bundled default while none is stored', async () => {
    await env.KV.delete(CATALOG_KV_KEY)
    const response = await adminFetch('/v1/admin/catalog')
    expect(response.status).toBe(200)
    const document = (await response.json()) as typeof bundled
    expect(document.version).toBe(bundled.version)
    expect(document.providers.map((p) => p.id)).toEqual(expect.arrayContaining(['openai', 'anthropic']))
  })

  it('is a 503 to retry, not an internal error, when an isolate’s first read of it fails', async () => {
    // A KV binding this isolate has not read the catalog through yet, whose reads fail.
    const failing = { get: () => Promise.reject(new Error('KV GET failed: 503 Service Unavailable')) } as unknown as KVNamespace
    vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const response = await worker.fetch(new Request('http://gateway.test/v1/models'), { ...env, KV: failing }, createExecutionContext())
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBe('1')
      expect(((await response.json()) as ErrorJson).error).toMatchObject({ code: 503, message: expect.stringContaining('catalog could not be read') })
    } finally {
      vi.restoreAllMocks()
    }
  })

  it('is replaced with PUT and read back with GET', async () => {
    await installCatalog()
    const document = (await (await adminFetch('/v1/admin/catalog')).json()) as { version: string; models: { id: string }[] }
    expect(document.version).toBe('test')
    expect(document.models.map((m) => m.id)).toEqual(['test/chat', 'test/claude', 'test/other', 'test/dark'])
    expect(await env.KV.get(CATALOG_KV_KEY, 'json')).toMatchObject({ version: 'test' })
  })

  const broken: [string, (doc: any) => void, string][] = [
    ['a bad price', (doc) => (doc.models[0].endpoints[0].pricing.prompt = '$1'), 'models[0].endpoints[0].pricing.prompt'],
    ['an unknown provider', (doc) => (doc.models[1].endpoints[0].provider = 'nobody'), 'models[1].endpoints[0].provider'],
    ['an unknown format', (doc) => (doc.providers[0].format = 'grpc'), 'providers[0].format'],
    ['a duplicate model', (doc) => doc.models.push(doc.models[0]), 'models[4].id'],
    ['a second endpoint of a model at one provider (they would share one health record)', (doc) => doc.models[0].endpoints.push({ ...doc.models[0].endpoints[0], upstreamModel: 'chat-turbo' }), 'models[0].endpoints[3].provider'],
    ['a bad base URL', (doc) => (doc.providers[1].baseUrl = 'ftp://x'), 'providers[1].baseUrl'],
    ['a base URL with a password (fetch refuses it; errors would carry it)', (doc) => (doc.providers[1].baseUrl = 'https://u:sk-secret-1234@api.example.com/v1'), 'providers[1].baseUrl'],
    ['a base URL with a query (a path is appended to it)', (doc) => (doc.providers[1].baseUrl = 'https://api.example.com/v1?key=sk-secret-1234'), 'providers[1].baseUrl'],
    ['a base URL ending in an empty query', (doc) => (doc.providers[1].baseUrl = 'https://api.example.com/v1?'), 'providers[1].baseUrl'],
    ['a base URL that is no URL (a 400, not a throw)', (doc) => (doc.providers[1].baseUrl = 'not a url'), 'providers[1].baseUrl'],
    ['a missing region', (doc) => delete doc.providers[2].region, 'providers[2].region'],
    ['the admin token as a provider key', (doc) => (doc.providers[0].apiKeyEnv = 'ADMIN_TOKEN'), 'providers[0].apiKeyEnv'],
    ['a header name with a space', (doc) => (doc.providers[0].headers = { 'x bad': '1' }), 'providers[0].headers'],
  ]
  it.each(broken)('rejects %s with a 400 naming the field, keeping the previous catalog', async (_label, breakIt, field) => {
    await installCatalog()
    const document = structuredClone(testCatalog) as any
    breakIt(document)
    const response = await adminFetch('/v1/admin/catalog', { method: 'PUT', body: JSON.stringify(document) })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toContain(field)
    const current = (await (await adminFetch('/v1/admin/catalog')).json()) as { version: string; models: unknown[] }
    expect(current.models).toHaveLength(4)
    expect(await env.KV.get(CATALOG_KV_KEY, 'json')).toEqual(JSON.parse(JSON.stringify(await (await adminFetch('/v1/admin/catalog')).json())))
  })
})

describe('GET /v1/models', () => {
  beforeAll(() => installCatalog())

  it('lists the models that have a live provider, in OpenRouter shape, without auth', async () => {
    const response = await gatewayFetch('/v1/models')
    expect(response.status).toBe(200)
    const { object, data } = (await response.json()) as { object: string; data: Record<string, any>[] }
    expect(object).toBe('list')
    expect(data.map((m) => m.id)).toEqual(['test/chat', 'test/claude', 'test/other'])
    expect(data[0]).toEqual({
      id: 'test/chat',
      object: 'model',
      owned_by: 'test',
      type: 'model',
      display_name: 'test/chat',
      created_at: '1970-01-01T00:00:00.000Z',
      canonical_slug: 'test/chat',
      name: 'test/chat',
      created: 0,
      description: '',
      context_length: 128000,
      architecture: { modality: 'text+image+file->text', input_modalities: ['text', 'image', 'file'], output_modalities: ['text'], tokenizer: 'Other', instruct_type: null },
      pricing: { prompt: '0.000001', completion: '0.000002', request: '0', image: '0', web_search: '0', internal_reasoning: '0' },
      top_provider: { context_length: 128000, max_completion_tokens: 4096, is_moderated: false },
      per_request_limits: null,
      supported_parameters: ['max_tokens', 'response_format', 'stop', 'structured_outputs', 'temperature', 'tools'],
      default_parameters: null,
      supported_voices: null,
      links: { details: '/api/v1/models/test/chat/endpoints' },
    })
  })

  it('shows one model at /v1/models/{id}, its id whole or percent-encoded, if a provider of it is live', async () => {
    for (const path of ['/v1/models/test/chat', '/v1/models/test%2Fchat', '/api/v1/models/test/chat/']) {
      const response = await gatewayFetch(path)
      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({ id: 'test/chat', context_length: 128000, links: { details: '/api/v1/models/test/chat/endpoints' } })
    }
    for (const path of ['/v1/models/test/dark', '/v1/models/nobody', '/v1/models/nobody/none']) {
      const response = await gatewayFetch(path)
      expect(response.status).toBe(404)
      expect(((await response.json()) as ErrorJson).error.message).toMatch(/^No model "/)
    }
  })

  it('shows the model a latest alias names now, at /v1/models/{alias} and its endpoints', async () => {
    for (const path of ['/v1/models/~test/chat-latest', '/v1/models/%7Etest%2Fchat-latest']) {
      const response = await gatewayFetch(path)
      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({ id: 'test/chat' })
    }
    const endpoints = await gatewayFetch('/v1/models/~test/chat-latest/endpoints')
    expect(endpoints.status).toBe(200)
    expect(await endpoints.json()).toMatchObject({ data: { id: 'test/chat', endpoints: expect.arrayContaining([expect.objectContaining({ model_id: 'test/chat', live: true })]) } })
    expect((await gatewayFetch('/v1/models/~test/nothing-latest')).status).toBe(404)
  })

  it('keeps the models that take every input modality and support every parameter asked for, as OpenRouter’s filters do', async () => {
    const other = testCatalog.models.find((model) => model.id === 'test/other')!
    const textOnly = {
      ...other,
      modalities: { input: ['text' as const], output: ['text' as const] },
      endpoints: other.endpoints.map((endpoint) => ({ ...endpoint, supportedParameters: ['temperature', 'max_tokens'] })),
    }
    await installCatalog({ ...testCatalog, models: testCatalog.models.map((model) => (model.id === 'test/other' ? textOnly : model)) })
    try {
      const ids = async (query: string) => ((await (await gatewayFetch(`/v1/models?${query}`)).json()) as { data: { id: string }[] }).data.map((m) => m.id)
      expect(await ids('supported_parameters=tools')).toEqual(['test/chat', 'test/claude'])
      expect(await ids('input_modalities=image')).toEqual(['test/chat', 'test/claude'])
      expect(await ids('input_modalities=text&supported_parameters=temperature,%20max_tokens')).toEqual(['test/chat', 'test/claude', 'test/other'])
      expect(await ids('supported_parameters=tools,nothing')).toEqual([])
      expect(await ids('output_modalities=embeddings&supported_parameters=temperature')).toEqual([])
    } finally {
      await installCatalog()
    }
  })

  it('shows Anthropic’s created_at for any created the catalog takes, a time past the last date as that date', async () => {
    const dated = (id: string, created: number) => ({ ...testCatalog.models.find((model) => model.id === id)!, created })
    await installCatalog({ ...testCatalog, models: [dated('test/chat', 1_700_000_000), dated('test/other', Number.MAX_SAFE_INTEGER)] })
    try {
      const response = await gatewayFetch('/v1/models')
      expect(response.status).toBe(200)
      const { data, first_id, last_id, has_more } = (await response.json()) as { data: { created_at: string }[]; first_id: string; last_id: string; has_more: boolean }
      expect(data.map((model) => model.created_at)).toEqual(['2023-11-14T22:13:20.000Z', '+275760-09-13T00:00:00.000Z'])
      expect([first_id, last_id, has_more]).toEqual(['test/chat', 'test/other', false])
    } finally {
      await installCatalog()
    }
  })

  it('applies every filter value given when the key is repeated (URLSearchParams.append, qs arrays)', async () => {
    const ids = async (query: string) => ((await (await gatewayFetch(`/v1/models?${query}`)).json()) as { data: { id: string }[] }).data.map((m) => m.id)
    expect(await ids('supported_parameters=tools&supported_parameters=nothing')).toEqual([])
    expect(await ids('input_modalities=text&input_modalities=audio')).toEqual([])
    expect(await ids('supported_parameters=tools&supported_parameters=stop')).toEqual(['test/chat', 'test/claude', 'test/other'])
  })

  it('keeps a model for supported_parameters only when one live endpoint supports them all, as routing with require_parameters needs', async () => {
    const chat = testCatalog.models.find((model) => model.id === 'test/chat')!
    const split = { ...chat, endpoints: chat.endpoints.map((endpoint, i) => ({ ...endpoint, supportedParameters: [['tools'], ['response_format'], ['temperature']][i]! })) }
    await installCatalog({ ...testCatalog, models: testCatalog.models.map((model) => (model.id === 'test/chat' ? split : model)) })
    try {
      const ids = ((await (await gatewayFetch('/v1/models?supported_parameters=tools,response_format')).json()) as { data: { id: string }[] }).data.map((m) => m.id)
      expect(ids).toEqual(['test/claude', 'test/other'])
    } finally {
      await installCatalog()
    }
  })

  it('is served under /api/v1 too', async () => {
    expect((await gatewayFetch('/api/v1/models')).status).toBe(200)
  })

  it('counts what it lists at /v1/models/count, with the same filters', async () => {
    const count = async (query = '') => ((await (await gatewayFetch(`/v1/models/count${query}`)).json()) as { data: { count: number } }).data.count
    const listed = async (query = '') => ((await (await gatewayFetch(`/v1/models${query}`)).json()) as { data: unknown[] }).data.length
    expect(await count()).toBe(3)
    for (const query of ['?output_modalities=all', '?supported_parameters=nothing']) expect(await count(query)).toBe(await listed(query))
    expect(await count('?supported_parameters=nothing')).toBe(0)
  })

  it('lists at /v1/models/user only what the calling key may use, each model with the providers it may use', async () => {
    const { key } = await createKey({ name: 'narrow', allowed_models: ['test/chat', 'test/other'], allowed_providers: ['alpha', 'gamma'] })
    const response = await gatewayFetch('/v1/models/user', { headers: { authorization: `Bearer ${key}` } })
    expect(response.status).toBe(200)
    const { data } = (await response.json()) as { data: { id: string }[] }
    expect(data.map((model) => model.id)).toEqual(['test/chat', 'test/other'])
    const { key: open } = await createKey({ name: 'open' })
    const all = (await (await gatewayFetch('/v1/models/user', { headers: { authorization: `Bearer ${open}` } })).json()) as { data: unknown[] }
    expect(all.data).toHaveLength(3)
    expect((await gatewayFetch('/v1/models/user')).status).toBe(401)
  })
})

describe('GET /v1/models paging (OpenRouter: opt-in offset and limit, links.next; Anthropic: after_id and before_id)', () => {
  beforeAll(() => installCatalog())
  type Page = { data: { id: string }[]; total_count: number; links: { next: string | null }; has_more: boolean; first_id: string | null; last_id: string | null }
  const page = async (query: string) => (await (await gatewayFetch(`/api/v1/models${query}`)).json()) as Page

  it('returns at most `limit` models from `offset`, links.next naming the rest, total_count the whole list', async () => {
    const first = await page('?limit=2')
    expect(first.data.map((m) => m.id)).toEqual(['test/chat', 'test/claude'])
    expect(first).toMatchObject({ total_count: 3, has_more: true, first_id: 'test/chat', last_id: 'test/claude' })
    expect(first.links.next).toBe('/api/v1/models?limit=2&offset=2')
    const second = (await (await gatewayFetch(first.links.next!)).json()) as Page
    expect(second.data.map((m) => m.id)).toEqual(['test/other'])
    expect(second).toMatchObject({ links: { next: null }, has_more: false })
    expect((await page('?offset=5')).data).toEqual([])
  })

  it('keeps the whole list on one page when no paging is asked for', async () => {
    expect(await page('')).toMatchObject({ total_count: 3, links: { next: null }, has_more: false, last_id: 'test/other' })
  })

  it('pages by Anthropic’s after_id and before_id', async () => {
    expect((await page('?limit=1&after_id=test/chat')).data.map((m) => m.id)).toEqual(['test/claude'])
    expect((await page('?after_id=test/claude')).data.map((m) => m.id)).toEqual(['test/other'])
    const before = await page('?limit=1&before_id=test/other')
    expect(before.data.map((m) => m.id)).toEqual(['test/claude'])
    expect(before.has_more).toBe(true)
  })

  it('pages /models/user the same way', async () => {
    const { key } = await createKey({ name: 'pager' })
    const response = await gatewayFetch('/api/v1/models/user?offset=2&limit=2', { headers: { authorization: `Bearer ${key}` } })
    expect(((await response.json()) as Page).data.map((m) => m.id)).toEqual(['test/other'])
  })

  it.each(['limit=0', 'limit=1001', 'limit=ten', 'offset=-1', 'after_id=nobody/none'])('answers 400 for %s', async (query) => {
    const response = await gatewayFetch(`/api/v1/models?${query}`)
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toMatch(/limit|offset|after_id/)
  })
})

describe('GET /v1/model/{author}/{slug} (OpenRouter’s single model, @openrouter/sdk models.get)', () => {
  beforeAll(() => installCatalog())

  it('answers { data: Model } for a listed model and a :variant of it, and a 404 for an unknown one', async () => {
    const response = await gatewayFetch('/api/v1/model/test/chat')
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ data: { id: 'test/chat', canonical_slug: 'test/chat', pricing: { prompt: '0.000001' } } })
    expect(await (await gatewayFetch('/api/v1/model/test/chat:nitro')).json()).toMatchObject({ data: { id: 'test/chat' } })
    expect(await (await gatewayFetch('/v1/models/test/chat:floor')).json()).toMatchObject({ id: 'test/chat' })
    expect((await gatewayFetch('/api/v1/model/nobody/none')).status).toBe(404)
  })
})

describe('model pricing shows every price Meridian charges', () => {
  it('lists the hour-long cache write price as input_cache_write_1h: the catalog’s, or twice the prompt’s where the provider bills such writes apart', async () => {
    const catalog = structuredClone(testCatalog)
    catalog.models[1]!.endpoints[0]!.pricing = { prompt: '0.000003', completion: '0.000015', cacheRead: '0.0000003', cacheWrite: '0.00000375', cacheWrite1h: '0.000006' }
    catalog.models[0]!.endpoints[0]!.pricing = { prompt: '0.0000011', completion: '0.000002', cacheWrite: '0.000002', cacheWrite1h: '0.0000022' }
    await installCatalog(catalog)
    try {
      const model = (await (await gatewayFetch('/v1/models/test/claude')).json()) as { pricing: Record<string, string> }
      expect(model.pricing).toMatchObject({ input_cache_read: '0.0000003', input_cache_write: '0.00000375', input_cache_write_1h: '0.000006' })
      const endpoints = (await (await gatewayFetch('/v1/models/test/claude/endpoints')).json()) as { data: { endpoints: { pricing: Record<string, string> }[] } }
      expect(endpoints.data.endpoints[0]!.pricing).toMatchObject({ input_cache_write_1h: '0.000006' })
      const implied = (await (await gatewayFetch('/v1/models/test/chat/endpoints')).json()) as { data: { endpoints: { pricing: Record<string, string> }[] } }
      // alpha (OpenAI format) names its own; beta (Anthropic format) names none, and is charged twice its prompt; gamma neither.
      expect(implied.data.endpoints.map((endpoint) => endpoint.pricing.input_cache_write_1h)).toEqual(['0.0000022', '0.000002', undefined])
    } finally {
      await installCatalog()
    }
  })
})

describe('GET /v1/providers datacenters', () => {
  it('holds the region’s ISO 3166-1 alpha-2 country code, or is null without one, as OpenRouter’s schema says', async () => {
    const catalog = structuredClone(testCatalog)
    catalog.providers[0]!.region = { ...catalog.providers[0]!.region, country: 'DE' }
    await installCatalog(catalog)
    try {
      const { data } = (await (await gatewayFetch('/api/v1/providers')).json()) as { data: { slug: string; datacenters: string[] | null }[] }
      expect(data.find((provider) => provider.slug === catalog.providers[0]!.id)?.datacenters).toEqual(['DE'])
      expect(data.find((provider) => provider.slug === catalog.providers[1]!.id)?.datacenters).toBeNull()
    } finally {
      await installCatalog()
    }
  })
})

describe('links.next after a before_id page', () => {
  beforeAll(() => installCatalog())
  const limitOf = async (path: string) => {
    const { links } = (await (await gatewayFetch(path)).json()) as { links: { next: string | null } }
    return links.next === null ? null : new URL(links.next, 'http://gateway.test').searchParams.get('limit')
  }

  it('keeps the limit the client asked for, on a page the list’s start cut short and on an empty one', async () => {
    expect(await limitOf('/api/v1/models?limit=5&before_id=test/other')).toBe('5')
    expect(await limitOf('/api/v1/models?limit=1&before_id=test/chat')).toBe('1')
  })

  it('reads an empty paging parameter as not given', async () => {
    expect((await gatewayFetch('/api/v1/models?offset=&limit=')).status).toBe(200)
    expect(await limitOf('/api/v1/models?offset=')).toBeNull()
  })
})

describe('GET /v1/models: search, authors, providers, context and sort', () => {
  const base = testCatalog.models.find((m) => m.id === 'test/chat')!
  const extra = (id: string, fields: object, endpoints = base.endpoints) => ({ ...base, id, name: id, ...fields, endpoints })
  const searchable = {
    ...testCatalog,
    models: [
      ...testCatalog.models,
      extra('acme/rocket-large', { created: 1_800_000_000, description: 'A model for rockets.', contextLength: 400_000 }, [
        { ...base.endpoints[2]!, pricing: { prompt: '0.00000005', completion: '0.0000001' }, contextLength: 400_000 },
      ]),
      extra('acme/rocket-mini', { created: 1_700_000_000, description: 'Small.', contextLength: 32_000 }, [{ ...base.endpoints[0]!, pricing: { prompt: '0.00001', completion: '0.00002' } }]),
    ],
  } as CatalogInput
  beforeAll(() => installCatalog(searchable))
  afterAll(() => installCatalog())
  const ids = async (query: string) => {
    const response = await gatewayFetch(`/v1/models${query}`)
    expect(response.status).toBe(200)
    return ((await response.json()) as { data: { id: string }[] }).data.map((m) => m.id)
  }

  it('keeps the models whose id, name or description hold every word of q, case aside', async () => {
    expect(await ids('?q=ROCKET')).toEqual(['acme/rocket-large', 'acme/rocket-mini'])
    expect(await ids('?q=rockets%20model')).toEqual(['acme/rocket-large'])
    expect(await ids('?q=nothing-like-it')).toEqual([])
  })

  it('keeps models by author, by a provider that serves them, and by the least context asked', async () => {
    expect(await ids('?model_authors=acme')).toEqual(['acme/rocket-large', 'acme/rocket-mini'])
    expect(await ids('?model_authors=test,nobody')).toEqual(['test/chat', 'test/claude', 'test/other'])
    expect(await ids('?providers=beta')).toEqual(['test/chat', 'test/claude'])
    expect(await ids('?context=200000')).toEqual(['acme/rocket-large'])
    expect((await gatewayFetch('/v1/models?context=lots')).status).toBe(400)
  })

  it('sorts newest first, by prompt price either way, or by context; other orders keep the catalog’s', async () => {
    expect((await ids('?sort=newest')).slice(0, 2)).toEqual(['acme/rocket-large', 'acme/rocket-mini'])
    expect((await ids('?sort=pricing-low-to-high'))[0]).toBe('acme/rocket-large')
    expect((await ids('?sort=pricing-high-to-low'))[0]).toBe('acme/rocket-mini')
    expect((await ids('?sort=context-high-to-low'))[0]).toBe('acme/rocket-large')
    // Orders resting on OpenRouter's own data (traffic, benchmark scores; @openrouter/sdk sends them), or any other, keep the catalog's.
    for (const sort of ['most-popular', 'intelligence-high-to-low', 'design-arena-elo-high-to-low', 'sideways']) expect(await ids(`?sort=${sort}`)).toEqual(await ids(''))
  })

  it('applies the same to the count', async () => {
    const count = (await (await gatewayFetch('/v1/models/count?q=rocket')).json()) as { data: { count: number } }
    expect(count.data.count).toBe(2)
  })
})

import { env } from 'cloudflare:workers'
import { createExecutionContext } from 'cloudflare:test'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import bundled from '../../src/catalog/default.json'
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
      architecture: { modality: 'text+image->text', input_modalities: ['text', 'image'], output_modalities: ['text'], tokenizer: 'Other', instruct_type: null },
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

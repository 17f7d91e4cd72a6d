import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { CatalogDocument } from '../../../src/catalog/schema'
import { CATALOG_KV_KEY } from '../../../src/catalog/store'
import { MAX_SOURCE_BYTES, SYNC_OPTIONS_KV_KEY } from '../../../src/catalog/sync'
import { ALPHA } from '../../support/catalog'
import { adminFetch, gatewayFetch, installCatalog, type ErrorJson } from '../../support/gateway'
import { fakeUpstreams, jsonResponse } from '../../support/upstream'
import modelsDev from '../../fixtures/models-dev.json'
import openrouter from '../../fixtures/openrouter-models.json'

const FRANKFURT = { name: 'frankfurt', lat: 50.1, lon: 8.7 }
const SOURCE = 'http://127.0.0.1:9999/'
const LLAMA = 'meta-llama/llama-3.3-70b-instruct'

const sync = (body: unknown) => adminFetch('/v1/admin/catalog/sync', { method: 'POST', body: JSON.stringify(body) })
const catalog = async () => (await (await adminFetch('/v1/admin/catalog')).json()) as CatalogDocument
const storedCatalog = () => env.KV.get<CatalogDocument>(CATALOG_KV_KEY, 'json')

beforeEach(async () => {
  await installCatalog()
  await env.KV.delete(SYNC_OPTIONS_KV_KEY)
})
afterEach(() => {
  vi.restoreAllMocks()
})

describe('POST /v1/admin/catalog/sync', () => {
  it('imports an inline OpenRouter document through the default openrouter provider', async () => {
    const response = await sync({ source: 'openrouter', document: openrouter, providers: { openrouter: { region: FRANKFURT, dataCollection: 'deny' } } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      source: 'openrouter',
      url: null,
      models_imported: 5,
      endpoints_imported: 5,
      skipped: [
        { id: 'openrouter/auto', reason: expect.stringContaining('pricing.prompt "-1"') },
        { id: 'acme/clipmaker-1', reason: 'no modality Meridian serves (text->video)' },
        { id: 'acme/half-listed', reason: expect.stringContaining('pricing') },
      ],
      providers: [{ id: 'openrouter', from: 'sync', endpoints: 5 }],
      changed: true,
    })
    const document = await catalog()
    expect(document.providers.find((p) => p.id === 'openrouter')).toEqual({
      id: 'openrouter', name: 'OpenRouter', format: 'openai', baseUrl: 'https://openrouter.ai/api/v1', apiKeyEnv: 'OPENROUTER_API_KEY',
      headers: {}, region: FRANKFURT, dataCollection: 'deny',
    })
    expect(document.models.map((m) => m.id)).toEqual(['test/chat', 'test/claude', 'test/other', 'test/dark', 'openai/gpt-4o-mini', 'anthropic/claude-3.5-haiku', LLAMA, `${LLAMA}:free`, 'google/gemini-2.0-flash-001'])
    expect(await storedCatalog()).toEqual(document)
  })

  it('leaves the catalog as it is when the provider cannot be defined, and says why', async () => {
    const response = await sync({ source: 'openrouter', document: openrouter })
    expect(response.status).toBe(200)
    const report = (await response.json()) as { models_imported: number; skipped: { id: string; reason: string }[]; changed: boolean }
    expect(report).toMatchObject({ models_imported: 0, changed: false })
    expect(report.skipped).toContainEqual({ id: 'openrouter', reason: expect.stringContaining('region: ') })
    expect((await catalog()).models).toHaveLength(4)
  })

  it("fetches models.dev from the URL, serving a provider through the operator's own and merging aliases", async () => {
    const { calls } = fakeUpstreams({ [SOURCE]: () => jsonResponse(modelsDev) })
    const response = await sync({
      source: 'models.dev',
      url: `${SOURCE}api.json`,
      providers: {
        groq: { id: 'alpha', region: FRANKFURT },
        deepinfra: { format: 'openai', baseUrl: 'http://127.0.0.1:9105/v1', apiKeyEnv: 'DEEPINFRA_API_KEY', region: FRANKFURT },
      },
      aliases: { 'groq/llama-3.3-70b-versatile': LLAMA, 'deepinfra/meta-llama/Llama-3.3-70B-Instruct-Turbo': LLAMA },
    })
    expect(response.status).toBe(200)
    expect(calls.map((call) => call.url)).toEqual([`${SOURCE}api.json`])
    expect(await response.json()).toMatchObject({
      source: 'models.dev',
      url: `${SOURCE}api.json`,
      models_imported: 3,
      endpoints_imported: 4,
      skipped: [{ id: 'groq/whisper-large-v3', reason: 'no cost' }, { id: 'groq/meta-llama/llama-guard-4-12b', reason: 'no limit' }],
      providers: [{ id: 'alpha', from: 'catalog', endpoints: 2 }, { id: 'deepinfra', from: 'sync', endpoints: 2 }],
    })
    const document = await catalog()
    expect(document.providers.find((p) => p.id === 'alpha')?.baseUrl).toBe(ALPHA)
    expect(document.providers.find((p) => p.id === 'deepinfra')).toMatchObject({ name: 'Deep Infra', apiKeyEnv: 'DEEPINFRA_API_KEY', dataCollection: 'allow', preset: 'deepinfra' })
    // alpha's old endpoint is replaced: the sync owns the endpoints of the providers it imports
    expect(document.models.find((m) => m.id === 'test/chat')?.endpoints.map((e) => e.provider)).toEqual(['beta', 'gamma'])
    expect(document.models.find((m) => m.id === LLAMA)?.endpoints.map((e) => [e.provider, e.upstreamModel, e.pricing.prompt])).toEqual([
      ['alpha', 'llama-3.3-70b-versatile', '0.00000059'],
      ['deepinfra', 'meta-llama/Llama-3.3-70B-Instruct-Turbo', '0.00000013'],
    ])
  })

  it('defines a provider with the preset its AI SDK package names, which the operator may change or drop with another format', async () => {
    const defined = async (options: object) => {
      const response = await sync({ source: 'models.dev', document: modelsDev, providers: { mistral: { baseUrl: 'http://127.0.0.1:9106/v1', apiKeyEnv: 'MISTRAL_API_KEY', region: FRANKFURT, ...options } } })
      expect(response.status).toBe(200)
      return (await catalog()).providers.find((p) => p.id === 'mistral')
    }
    expect(await defined({})).toMatchObject({ format: 'openai', preset: 'mistral' })
    await installCatalog()
    expect(await defined({ preset: 'openai' })).toMatchObject({ format: 'openai', preset: 'openai' })
    await installCatalog()
    expect(await defined({ format: 'anthropic' })).not.toHaveProperty('preset')
    await installCatalog()
    expect(await defined({ preset: null })).not.toHaveProperty('preset')
  })

  const badOptions: [string, object, string][] = [
    ['no providers for models.dev', { source: 'models.dev' }, 'providers: name the models.dev providers'],
    ['an unknown source', { source: 'huggingface' }, 'source: '],
    ['a non-http URL', { source: 'openrouter', url: 'ftp://127.0.0.1/models.json' }, 'url: must be an http(s) URL'],
    ['a region off the globe', { source: 'openrouter', providers: { openrouter: { region: { name: 'x', lat: 200, lon: 0 } } } }, 'providers.openrouter.region.lat: '],
    ['a bad alias', { source: 'openrouter', aliases: { 'openai/gpt-4o': 'GPT 4o' } }, 'aliases.openai/gpt-4o: must look like "author/slug"'],
    ['two OpenRouter providers', { source: 'openrouter', providers: { a: {}, b: {} } }, 'providers: an OpenRouter sync serves every model through one provider'],
    ['both url and document', { source: 'openrouter', url: `${SOURCE}x.json`, document: openrouter }, 'document: give either url or document'],
    ['a scheduled inline document', { source: 'openrouter', document: openrouter, schedule: true }, 'schedule: a scheduled sync fetches its source'],
    ['an unknown field', { source: 'openrouter', region: FRANKFURT }, 'region'],
    ['a bad source document', { source: 'openrouter', document: { models: [] } }, 'Invalid source document: data: '],
  ]
  it.each(badOptions)('refuses %s with a 400 naming the field, changing nothing', async (_label, body, message) => {
    const before = await storedCatalog()
    const response = await sync(body)
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toContain(message)
    expect(await storedCatalog()).toEqual(before)
    expect(await env.KV.get(SYNC_OPTIONS_KV_KEY)).toBeNull()
  })

  const unreachable: [string, () => void, string][] = [
    ['refuses the connection', () => fakeUpstreams({}), 'Could not fetch the catalog source http://127.0.0.1:9999/models.json: fetch failed'],
    ['answers 503', () => fakeUpstreams({ [SOURCE]: () => new Response('down', { status: 503 }) }), 'The catalog source http://127.0.0.1:9999/models.json answered 503'],
  ]
  it.each(unreachable)('is a 502 with the reason when the source %s, changing nothing', async (_label, serve, message) => {
    serve()
    const before = await storedCatalog()
    const response = await sync({ source: 'openrouter', url: `${SOURCE}models.json`, providers: { openrouter: { region: FRANKFURT } }, schedule: true })
    expect(response.status).toBe(502)
    expect(((await response.json()) as ErrorJson).error.message).toContain(message)
    expect(await storedCatalog()).toEqual(before)
    expect(await env.KV.get(SYNC_OPTIONS_KV_KEY)).toBeNull()
  })

  it.each([
    ['an empty list', { data: [] }],
    // A renamed field (architecture → arch) fails every entry the importer reads.
    ['entries that all fail the importer', { data: [{ id: 'test/other', name: 'Other', context_length: 8000, arch: {}, pricing: { prompt: '0.000001', completion: '0.000002' } }] }],
  ])('keeps a provider’s endpoints when the source lists %s for it, and says so', async (_label, document) => {
    const response = await sync({ source: 'openrouter', document, providers: { gamma: {} } })
    expect(response.status).toBe(200)
    const report = (await response.json()) as { skipped: { id: string; reason: string }[]; providers: unknown[]; changed: boolean }
    expect(report.changed).toBe(false)
    expect(report.providers).toEqual([])
    expect(report.skipped).toContainEqual({ id: 'gamma', reason: 'the source lists no usable model at this provider; its endpoints are kept as they were' })
    expect((await catalog()).models.map((model) => model.id)).toEqual(['test/chat', 'test/claude', 'test/other', 'test/dark'])
    const listed = (await (await gatewayFetch('/v1/models')).json()) as { data: { id: string }[] }
    expect(listed.data.map((model) => model.id)).toContain('test/other')
  })

  it('is a 502 when the source answers more than MAX_SOURCE_BYTES, reading no further, changing nothing', async () => {
    const chunk = new Uint8Array(1024 * 1024).fill(0x20)
    let sent = 0
    // Chunked (no length to check up front): the limit is counted as the body arrives.
    const endless = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            sent += chunk.byteLength
            controller.enqueue(chunk)
          },
        }),
        { headers: { 'content-type': 'application/json' } },
      )
    fakeUpstreams({ [SOURCE]: endless })
    const before = await storedCatalog()
    const response = await sync({ source: 'openrouter', url: `${SOURCE}models.json`, schedule: true })
    expect(response.status).toBe(502)
    expect(((await response.json()) as ErrorJson).error.message).toContain(`answered more than ${MAX_SOURCE_BYTES} bytes`)
    expect(sent).toBeLessThan(MAX_SOURCE_BYTES * 2)
    expect(await storedCatalog()).toEqual(before)
    expect(await env.KV.get(SYNC_OPTIONS_KV_KEY)).toBeNull()
  })

  it('is a 400 when the source answers something other than JSON', async () => {
    fakeUpstreams({ [SOURCE]: () => new Response('<html>', { headers: { 'content-type': 'text/html' } }) })
    const response = await sync({ source: 'openrouter', url: `${SOURCE}models.json` })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toContain('did not return JSON')
  })

  it('needs the admin token', async () => {
    const response = await gatewayFetch('/v1/admin/catalog/sync', { method: 'POST', body: JSON.stringify({ source: 'openrouter', document: openrouter }) })
    expect(response.status).toBe(401)
  })
})

describe('scheduling a sync', () => {
  it('stores the options for cron with schedule: true, shows them with GET and forgets them with DELETE', async () => {
    expect(await (await adminFetch('/v1/admin/catalog/sync')).json()).toEqual({ options: null, last_run_at: null })
    fakeUpstreams({ [SOURCE]: () => jsonResponse(openrouter) })
    const options = { source: 'openrouter', url: `${SOURCE}models.json`, providers: { openrouter: { region: FRANKFURT } } }
    expect((await sync({ ...options, schedule: true })).status).toBe(200)
    const shown = (await (await adminFetch('/v1/admin/catalog/sync')).json()) as { options: unknown; last_run_at: string }
    expect(shown.options).toEqual(options)
    expect(Date.now() - Date.parse(shown.last_run_at)).toBeLessThan(60_000)
    expect((await adminFetch('/v1/admin/catalog/sync', { method: 'DELETE' })).status).toBe(200)
    expect(await env.KV.get(SYNC_OPTIONS_KV_KEY)).toBeNull()
  })
})

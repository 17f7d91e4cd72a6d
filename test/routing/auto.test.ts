import { describe, expect, it, vi } from 'vitest'
import { salvageCatalog } from '../../src/catalog/salvage'
import { CatalogSchema } from '../../src/catalog/schema'
import { mergeCatalog } from '../../src/catalog/sync/merge'
import { BETA, GAMMA, ALPHA, testCatalog } from '../support/catalog'
import { adminFetch, chat, createKey, installCatalog, setUpGateway, type ErrorJson } from '../support/gateway'
import { anthropicText, fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * `openrouter/auto` through the gateway: the catalog's auto pool, in its order, less the models
 * that cannot serve the request or that the auto-router plugin leaves out.
 */

const textOnly = {
  id: 'test/texty',
  name: 'Texty',
  contextLength: 8000,
  modalities: { input: ['text'], output: ['text'] },
  endpoints: [{ provider: 'gamma', upstreamModel: 'gamma-texty', pricing: { prompt: '0.0000001', completion: '0.0000002' }, maxCompletionTokens: 1000, supportedParameters: ['max_tokens'] }],
}
const pooled = { ...testCatalog, models: [...testCatalog.models, textOnly], auto: ['test/texty', 'test/claude', 'test/chat'] }

const tenant = setUpGateway(pooled)

const ask = (extra: object = {}) => ({ model: 'openrouter/auto', messages: [{ role: 'user', content: 'Hello' }], ...extra })
const image = { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }
const servedModel = async (response: Response) => {
  expect(response.status).toBe(200)
  return ((await response.json()) as { model: string }).model
}
const upstreams = () =>
  fakeUpstreams({
    [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'from alpha' })),
    [BETA]: () => jsonResponse(anthropicText('from beta')),
    [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'from gamma' })),
  })

describe('openrouter/auto', () => {
  it('serves the first model of the pool that can take the request, and names it', async () => {
    const upstream = upstreams()
    expect(await servedModel(await chat(tenant.key, ask()))).toBe('test/texty')
    expect(upstream.calls[0]!.url).toContain(GAMMA)
    // An image: the text-only model cannot take it, so the next in the pool serves.
    expect(await servedModel(await chat(tenant.key, ask({ messages: [image] })))).toBe('test/claude')
    // Tools: the text-only model's endpoint does not take them.
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }]
    expect(await servedModel(await chat(tenant.key, ask({ tools })))).toBe('test/claude')
    // A prompt too long for its 8,000-token window.
    expect(await servedModel(await chat(tenant.key, ask({ messages: [{ role: 'user', content: 'x'.repeat(40_000) }] })))).toBe('test/claude')
  })

  it('fails over along the pool when a model’s provider fails before the first byte', async () => {
    fakeUpstreams({
      [GAMMA]: () => jsonResponse({ error: { message: 'down' } }, 500),
      [BETA]: () => jsonResponse(anthropicText('from beta')),
    })
    const response = await chat(tenant.key, ask())
    expect(await servedModel(response)).toBe('test/claude')
  })

  it('narrows the pool by the auto-router plugin’s allowed_models and excluded_models, ids or author/* patterns', async () => {
    upstreams()
    const plugin = (settings: object) => ({ plugins: [{ id: 'auto-router', ...settings }] })
    expect(await servedModel(await chat(tenant.key, ask(plugin({ excluded_models: ['test/texty'] }))))).toBe('test/claude')
    expect(await servedModel(await chat(tenant.key, ask(plugin({ allowed_models: ['test/chat'] }))))).toBe('test/chat')
    expect(await servedModel(await chat(tenant.key, ask(plugin({ allowed_models: ['test/*'], excluded_models: ['test/texty', 'test/claude'] }))))).toBe('test/chat')
    const none = await chat(tenant.key, ask(plugin({ allowed_models: ['other/*'] })))
    expect(none.status).toBe(404)
    expect(((await none.json()) as ErrorJson).error.message).toMatch(/^No models match your request and model restrictions/)
    // A disabled plugin restricts nothing.
    expect(await servedModel(await chat(tenant.key, ask(plugin({ enabled: false, allowed_models: ['other/*'] }))))).toBe('test/texty')
  })

  it('keeps to a key’s allowed models', async () => {
    upstreams()
    const { key } = await createKey({ name: 'chat only', allowed_models: ['test/chat'] })
    expect(await servedModel(await chat(key, ask()))).toBe('test/chat')
  })

  it('takes every catalog model, in catalog order, when the catalog has no pool', async () => {
    upstreams()
    await installCatalog({ ...testCatalog, models: [...testCatalog.models, textOnly] })
    try {
      expect(await servedModel(await chat(tenant.key, ask()))).toBe('test/chat')
    } finally {
      await installCatalog(pooled)
    }
  })

  it('refuses a catalog whose pool names an unknown model or one twice', async () => {
    for (const [auto, message] of [
      [['test/chat', 'test/nothing'], 'auto[1]'],
      [['test/chat', 'test/chat'], 'auto[1]'],
    ] as const) {
      const response = await adminFetch('/v1/admin/catalog', { method: 'PUT', body: JSON.stringify({ ...pooled, auto }) })
      expect(response.status).toBe(400)
      expect(((await response.json()) as ErrorJson).error.message).toContain(message)
    }
  })

  it('refuses malformed plugin settings with a 400', async () => {
    const response = await chat(tenant.key, ask({ plugins: [{ id: 'auto-router', allowed_models: 'test/chat' }] }))
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toContain('plugins[0].allowed_models')
  })

  it('carries a key’s allow-list deep into a big pool (more candidates than a plain plan’s 32)', async () => {
    upstreams()
    const bulk = Array.from({ length: 40 }, (_, i) => ({ ...textOnly, id: `bulk/m${i}`, name: `Bulk ${i}`, endpoints: [{ ...textOnly.endpoints[0]!, upstreamModel: `bulk-${i}` }] }))
    await installCatalog({ ...testCatalog, models: [...bulk, ...testCatalog.models], auto: [...bulk.map((m) => m.id), 'test/claude'] })
    try {
      const { key } = await createKey({ name: 'claude only', allowed_models: ['test/claude'] })
      expect(await servedModel(await chat(key, ask()))).toBe('test/claude')
    } finally {
      await installCatalog(pooled)
    }
  })

  it('tries the pool models that honour structured output first', async () => {
    upstreams()
    const schema = { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { a: { type: 'string' } } } } }
    expect(await servedModel(await chat(tenant.key, ask({ response_format: schema })))).toBe('test/claude')
  })

  it('narrows the pool by the auto-router plugin on /v1/messages too', async () => {
    upstreams()
    const body = { model: 'openrouter/auto', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }], plugins: [{ id: 'auto-router', excluded_models: ['test/texty'] }] }
    expect(await servedModel(await chat(tenant.key, body, '/v1/messages'))).toBe('test/claude')
  })

  it('pools every model once a sync removed all of the pool’s, and refuses an empty pool from the operator', async () => {
    const current = CatalogSchema.parse({ ...testCatalog, auto: ['test/other'] })
    // gamma synced without test/other: test/other (gamma only) goes, and with it the whole pool.
    const newcomer = { ...textOnly, id: 'test/newcomer' }
    const merged = mergeCatalog(current, { providers: [{ id: 'gamma', known: {} }], models: [CatalogSchema.shape.models.element.parse(newcomer)], skipped: [] })
    expect(merged.document.models.map((model) => model.id)).not.toContain('test/other')
    expect(merged.document).not.toHaveProperty('auto')
    const empty = await adminFetch('/v1/admin/catalog', { method: 'PUT', body: JSON.stringify({ ...pooled, auto: [] }) })
    expect(empty.status).toBe(400)
    expect(((await empty.json()) as ErrorJson).error.message).toContain('auto: must name at least one model')
  })

  it('salvages a stored catalog whose pool names a model salvage left out, keeping the rest of the pool', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const [alpha, beta, ...others] = testCatalog.providers
    // Allowed by an older release, refused now: salvage leaves out beta and test/claude (its only endpoint).
    const stored = { ...testCatalog, providers: [alpha, { ...beta!, baseUrl: 'https://user:sk-secret@claude.example.com/v1' }, ...others], auto: ['test/claude', 'test/chat'] }
    const salvaged = salvageCatalog(stored)
    expect(salvaged?.document.auto).toEqual(['test/chat'])
    expect(salvaged?.dropped).toContain('auto: 1 of its models left out')
    error.mockRestore()
  })
})

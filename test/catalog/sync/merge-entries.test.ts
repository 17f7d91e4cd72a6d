import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CatalogDocument } from '../../../src/catalog/schema'
import { adminFetch, chat, createKey, installCatalog } from '../../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../../support/upstream'

/**
 * docs/catalog.md, Merge rule: a skipped entry the source still lists keeps its endpoint; imported
 * endpoints join a model only when they serve every modality it claims; a model only the sync
 * serves follows the source.
 */
const FRANKFURT = { name: 'frankfurt', lat: 50.1, lon: 8.7 }
const OPENROUTER_FAKE = 'http://127.0.0.1:9106/v1'
const sync = (body: unknown) => adminFetch('/v1/admin/catalog/sync', { method: 'POST', body: JSON.stringify(body) })
const catalog = async () => (await (await adminFetch('/v1/admin/catalog')).json()) as CatalogDocument
const put = (document: unknown) => adminFetch('/v1/admin/catalog', { method: 'PUT', body: JSON.stringify(document) })

/** An entry of OpenRouter's GET /api/v1/models. */
const entry = (id: string, fields: Record<string, unknown> = {}) => ({
  id,
  name: id,
  created: 1721260800,
  description: '',
  context_length: 8192,
  architecture: { modality: 'text->text', input_modalities: ['text'], output_modalities: ['text'], tokenizer: 'Other', instruct_type: null },
  pricing: { prompt: '0.0000015', completion: '0.000002', request: '0', image: '0' },
  top_provider: { context_length: 8192, max_completion_tokens: 1024, is_moderated: false },
  supported_parameters: ['max_tokens', 'temperature'],
  ...fields,
})
const openrouterSync = (data: unknown[]) =>
  sync({ source: 'openrouter', document: { data }, providers: { openrouter: { region: FRANKFURT, baseUrl: OPENROUTER_FAKE, apiKeyEnv: 'TEST_PROVIDER_KEY' } } })

beforeEach(() => installCatalog())
afterEach(() => installCatalog())

describe('catalog sync: one bad upstream entry', () => {
  it('keeps the model it already imported (and its place in the auto pool) rather than deleting it', async () => {
    expect((await openrouterSync([entry('acme/good'), entry('acme/keep')])).status).toBe(200)
    expect((await put({ ...(await catalog()), auto: ['acme/keep', 'acme/good'] })).status).toBe(200)
    const before = (await catalog()).models.find((m) => m.id === 'acme/keep')

    const response = await openrouterSync([entry('acme/good'), entry('acme/keep', { pricing: { prompt: '-1', completion: '-1' } })])
    expect(response.status).toBe(200)
    expect(((await response.json()) as { skipped: { id: string }[] }).skipped.map((s) => s.id)).toContain('acme/keep')
    const after = await catalog()
    expect(after.models.find((m) => m.id === 'acme/keep')).toEqual(before)
    expect(after.auto).toEqual(['acme/keep', 'acme/good'])
  })

  it('still drops a model the source no longer lists at all', async () => {
    expect((await openrouterSync([entry('acme/good'), entry('acme/gone')])).status).toBe(200)
    expect((await openrouterSync([entry('acme/good')])).status).toBe(200)
    expect((await catalog()).models.map((m) => m.id)).not.toContain('acme/gone')
  })
})

describe('catalog sync: the modalities of a model an import joins or updates', () => {
  it('does not join a text-only endpoint to a model that takes images, so no image is sent to it', async () => {
    const response = await openrouterSync([entry('test/chat')])
    expect(response.status).toBe(200)
    expect(((await response.json()) as { skipped: { id: string; reason: string }[] }).skipped).toContainEqual({ id: 'test/chat', reason: expect.stringContaining('image') })
    const model = (await catalog()).models.find((m) => m.id === 'test/chat')!
    expect(model.modalities.input).toContain('image')
    expect(model.endpoints.map((e) => e.provider)).not.toContain('openrouter')

    const { calls } = fakeUpstreams({ [OPENROUTER_FAKE]: () => jsonResponse(openaiCompletion({ content: 'I cannot see images' })) })
    const { key } = await createKey()
    const image = await chat(key, {
      model: 'test/chat',
      provider: { only: ['openrouter'] },
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }],
    })
    await image.text()
    expect(image.status).not.toBe(200)
    expect(calls.filter((call) => call.url.startsWith(OPENROUTER_FAKE))).toHaveLength(0)
  })

  it('joins an endpoint that serves every modality the model claims', async () => {
    const vision = { modality: 'text+image+file->text', input_modalities: ['text', 'image', 'file'], output_modalities: ['text'], tokenizer: 'Other', instruct_type: null }
    expect((await openrouterSync([entry('test/chat', { architecture: vision })])).status).toBe(200)
    const model = (await catalog()).models.find((m) => m.id === 'test/chat')!
    expect(model.endpoints.map((e) => e.provider)).toContain('openrouter')
    expect(model.modalities.input).toContain('image')
  })

  it('brings a model only the sync serves up to date: its name, window and modalities', async () => {
    expect((await openrouterSync([entry('acme/vision')])).status).toBe(200)
    const upgraded = entry('acme/vision', {
      name: 'Acme Vision 2',
      context_length: 262144,
      architecture: { modality: 'text+image->text', input_modalities: ['text', 'image'], output_modalities: ['text'], tokenizer: 'Other', instruct_type: null },
      top_provider: { context_length: 262144, max_completion_tokens: 1024, is_moderated: false },
    })
    expect((await openrouterSync([upgraded])).status).toBe(200)
    const model = (await catalog()).models.find((m) => m.id === 'acme/vision')!
    expect(model.endpoints.map((e) => e.provider)).toEqual(['openrouter'])
    expect({ name: model.name, contextLength: model.contextLength, input: model.modalities.input }).toEqual({ name: 'Acme Vision 2', contextLength: 262144, input: ['text', 'image'] })
  })
})

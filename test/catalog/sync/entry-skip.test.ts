import { beforeEach, describe, expect, it } from 'vitest'
import type { CatalogDocument } from '../../../src/catalog/schema'
import { adminFetch, installCatalog } from '../../support/gateway'

const FRANKFURT = { name: 'frankfurt', lat: 50.1, lon: 8.7 }
const sync = (body: unknown) => adminFetch('/v1/admin/catalog/sync', { method: 'POST', body: JSON.stringify(body) })
const catalog = async () => (await (await adminFetch('/v1/admin/catalog')).json()) as CatalogDocument

const openrouterEntry = (id: string, created: number) => ({
  id,
  name: id,
  created,
  context_length: 8192,
  architecture: { input_modalities: ['text'], output_modalities: ['text'] },
  pricing: { prompt: '0.0000015', completion: '0.000002' },
  top_provider: { context_length: 8192, max_completion_tokens: 1024 },
})

const modelsDevModel = (id: string, context: number) => ({ id, name: id, cost: { input: 0.1, output: 0.2 }, limit: { context, output: 100 } })

beforeEach(() => installCatalog())

describe('catalog sync: an entry the catalog’s schema refuses', () => {
  it('OpenRouter: an entry whose created is past 2^53 is skipped and reported, the good ones imported', async () => {
    const response = await sync({
      source: 'openrouter',
      providers: { openrouter: { region: FRANKFURT } },
      document: { data: [openrouterEntry('acme/good', 1721260800), openrouterEntry('acme/bad', 1e20)] },
    })
    expect(response.status).toBe(200)
    const report = (await response.json()) as { models_imported: number; skipped: { id: string; reason: string }[] }
    expect(report.models_imported).toBe(1)
    expect(report.skipped).toContainEqual({ id: 'acme/bad', reason: expect.stringMatching(/^not a valid catalog entry \(created: /) })
    expect((await catalog()).models.map((m) => m.id)).toContain('acme/good')
  })

  it('models.dev: a model whose context is past 2^53 is skipped and reported, the good ones imported', async () => {
    const response = await sync({
      source: 'models.dev',
      providers: { groq: { region: FRANKFURT, baseUrl: 'http://127.0.0.1:9105/v1', apiKeyEnv: 'GROQ_API_KEY' } },
      document: {
        groq: { id: 'groq', name: 'Groq', npm: '@ai-sdk/openai-compatible', models: { good: modelsDevModel('good', 8192), bad: modelsDevModel('bad', 1e20) } },
      },
    })
    expect(response.status).toBe(200)
    const report = (await response.json()) as { models_imported: number; skipped: { id: string; reason: string }[] }
    expect(report.models_imported).toBe(1)
    expect(report.skipped).toContainEqual({ id: 'groq/bad', reason: expect.stringMatching(/^not a valid catalog entry \(contextLength: /) })
    expect((await catalog()).models.map((m) => m.id)).toContain('groq/good')
  })
})

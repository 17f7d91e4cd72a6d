import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import defaultCatalog from '../../src/catalog/default.json'
import type { CatalogInput } from '../../src/catalog/schema'
import { testCatalog } from '../support/catalog'
import { gatewayFetch, installCatalog } from '../support/gateway'

/**
 * GET /v1/models query parameters @openrouter/sdk's `models.list()` sends (GetModelsRequest:
 * `min_price`/`max_price`, prompt price in $/M tokens, `min_output_price`/`max_output_price`,
 * `zdr`), its price orders (by the average of prompt and completion prices), an empty parameter,
 * and `supported_parameters` as routing reads it. In the test catalog: test/chat $1/M in, $2/M
 * out; test/claude $3/M in, $15/M out; test/other $1/M in, $2/M out, served only by gamma.
 */
const ids = async (query: string) => {
  const response = await gatewayFetch(`/v1/models${query}`)
  expect(response.status).toBe(200)
  return ((await response.json()) as { data: { id: string }[] }).data.map((m) => m.id)
}

describe('GET /v1/models: price and privacy filters', () => {
  beforeAll(async () => {
    const catalog = structuredClone(testCatalog)
    catalog.providers.find((p) => p.id === 'gamma')!.dataCollection = 'allow'
    await installCatalog(catalog)
  })
  afterAll(() => installCatalog())

  it('max_price keeps the models whose prompt price ($/M) is at most it; max_price=0 only free ones', async () => {
    expect(await ids('?max_price=2')).toEqual(['test/chat', 'test/other'])
    expect(await ids('?max_price=0.999999')).toEqual([])
    expect(await ids('?max_price=0')).toEqual([])
  })

  it('min_price keeps the models whose prompt price ($/M) is at least it', async () => {
    expect(await ids('?min_price=2')).toEqual(['test/claude'])
    expect(await ids('?min_price=1')).toEqual(['test/chat', 'test/claude', 'test/other'])
  })

  it('min_output_price and max_output_price bound the completion price ($/M)', async () => {
    expect(await ids('?max_output_price=10')).toEqual(['test/chat', 'test/other'])
    expect(await ids('?min_output_price=15')).toEqual(['test/claude'])
  })

  it('zdr=true keeps only models with an endpoint at a provider that keeps no data, as provider.zdr routes', async () => {
    expect(await ids('?zdr=true')).toEqual(['test/chat', 'test/claude'])
  })

  it('answers a price it cannot read with a 400 naming it', async () => {
    const response = await gatewayFetch('/v1/models?max_price=cheap')
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/^max_price: must be a price in USD per million tokens/)
  })
})

describe('GET /v1/models: an empty output_modalities', () => {
  beforeAll(() => installCatalog())

  it('is read as not given (text), as empty paging parameters are', async () => {
    expect(await ids('?output_modalities=')).toEqual(await ids(''))
  })
})

describe('GET /v1/models?sort=pricing-…', () => {
  const base = testCatalog.models.find((m) => m.id === 'test/other')!
  const priced = (id: string, prompt: string, completion: string) => ({ ...base, id, name: id, endpoints: [{ ...base.endpoints[0]!, pricing: { prompt, completion } }] })
  beforeAll(() =>
    installCatalog({
      ...testCatalog,
      models: [
        priced('acme/cheap-prompt', '0.000001', '0.0001'), // $1/M in, $100/M out: average $50.5/M
        priced('acme/balanced', '0.000002', '0.000002'), // $2/M in, $2/M out: average $2/M
      ],
    }),
  )
  afterAll(() => installCatalog())

  it('orders by the average of prompt and completion prices', async () => {
    expect(await ids('?sort=pricing-low-to-high')).toEqual(['acme/balanced', 'acme/cheap-prompt'])
    expect(await ids('?sort=pricing-high-to-low')).toEqual(['acme/cheap-prompt', 'acme/balanced'])
  })
})

describe('GET /v1/models?supported_parameters=structured_outputs', () => {
  // Nova Pro lists response_format, not structured_outputs; routing serves it a json_schema (a forced tool).
  const novaPro = (defaultCatalog as unknown as CatalogInput).models.find((model) => model.id === 'amazon/nova-pro-v1')!
  beforeAll(() =>
    installCatalog({
      ...testCatalog,
      providers: [
        ...testCatalog.providers,
        { id: 'amazon-bedrock', name: 'Amazon Bedrock', format: 'bedrock', baseUrl: 'http://127.0.0.1:9311', apiKeyEnv: 'TEST_BEDROCK_CREDENTIALS', headers: {}, region: { name: 'us-east-1', lat: 38.13, lon: -78.45 }, dataCollection: 'deny' },
      ],
      models: [...testCatalog.models, novaPro],
    } as CatalogInput),
  )
  afterAll(() => installCatalog())

  it('keeps a model that routing with require_parameters serves a json_schema request at', async () => {
    expect(novaPro.endpoints[0]!.supportedParameters).not.toContain('structured_outputs')
    expect(await ids('?supported_parameters=structured_outputs')).toContain('amazon/nova-pro-v1')
  })
})

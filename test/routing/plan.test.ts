import { describe, expect, it } from 'vitest'
import { CatalogSchema } from '../../src/catalog/schema'
import { compileCatalog } from '../../src/catalog/snapshot'
import { GatewayError } from '../../src/errors'
import type { ChatRequest } from '../../src/formats/openai/request'
import { planRoute } from '../../src/routing/plan'
import { testCatalog } from '../support/catalog'

const catalog = compileCatalog(CatalogSchema.parse(testCatalog))
const live = (provider: { apiKeyEnv: string }) => provider.apiKeyEnv === 'TEST_PROVIDER_KEY'
const request = (fields: Partial<ChatRequest>): ChatRequest => ({ messages: [{ role: 'user', content: 'hi' }], ...fields })
const plan = (fields: Partial<ChatRequest>, maxAttempts = 10) =>
  planRoute({ catalog, request: request(fields), isLive: live, maxAttempts }).map((e) => `${e.model.id}@${e.provider.id}`)

function failure(fields: Partial<ChatRequest>): GatewayError {
  try {
    planRoute({ catalog, request: request(fields), isLive: live, maxAttempts: 10 })
  } catch (error) {
    if (error instanceof GatewayError) return error
  }
  throw new Error('expected a GatewayError')
}

describe('planRoute', () => {
  it('orders a model’s live endpoints as the catalog lists them', () => {
    expect(plan({ model: 'test/chat' })).toEqual(['test/chat@alpha', 'test/chat@beta', 'test/chat@gamma'])
  })

  it('appends the models fallback list, skipping unknown and repeated ids', () => {
    expect(plan({ model: 'test/claude', models: ['nobody/x', 'test/other', 'test/claude'] })).toEqual(['test/claude@beta', 'test/other@gamma'])
  })

  it('uses models alone when model is absent', () => {
    expect(plan({ models: ['test/other'] })).toEqual(['test/other@gamma'])
  })

  it('caps the plan at maxAttempts', () => {
    expect(plan({ model: 'test/chat' }, 2)).toEqual(['test/chat@alpha', 'test/chat@beta'])
  })

  it.each([
    [{}, 400],
    [{ model: 'nobody/x' }, 404],
    [{ model: 'test/dark' }, 503],
  ])('refuses %j with %i', (fields, status) => {
    expect(failure(fields).status).toBe(status)
  })
})

import { describe, expect, it } from 'vitest'
import type { CatalogInput } from '../../src/catalog/schema'
import defaultCatalog from '../../src/catalog/default.json'
import { chat, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse } from '../support/upstream'

/**
 * The shipped catalog's Nova Pro, whose entry lists `response_format` but not `structured_outputs`:
 * the gateway enforces a JSON schema on Nova itself (a forced tool), so require_parameters keeps it.
 */
const BEDROCK = 'http://127.0.0.1:9311'
const shipped = (defaultCatalog as unknown as CatalogInput).models.find((model) => model.id === 'amazon/nova-pro-v1')!

const catalog = {
  version: 'schema-enforced',
  providers: [
    { id: 'amazon-bedrock', name: 'Amazon Bedrock', format: 'bedrock', baseUrl: BEDROCK, apiKeyEnv: 'TEST_BEDROCK_CREDENTIALS', headers: {}, region: { name: 'us-east-1', lat: 38.13, lon: -78.45 }, dataCollection: 'deny' },
  ],
  models: [shipped],
} as CatalogInput

const tenant = setUpGateway(catalog)

const converseAnswer = {
  output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'json_response', input: { city: 'Paris' } } }] } },
  stopReason: 'tool_use',
  usage: { inputTokens: 20, outputTokens: 10, totalTokens: 30 },
}

describe('require_parameters with a JSON schema, on an endpoint whose schema the gateway enforces', () => {
  it('keeps a Bedrock Nova endpoint the catalog does not list structured_outputs for', async () => {
    expect(shipped.endpoints[0]!.supportedParameters).not.toContain('structured_outputs')
    const upstream = fakeUpstreams({ [BEDROCK]: () => jsonResponse(converseAnswer) })
    const response = await chat(tenant.key, {
      model: 'amazon/nova-pro-v1',
      messages: [{ role: 'user', content: 'Name a city.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'city', strict: true, schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
      provider: { require_parameters: true },
    })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('{"city":"Paris"}')
    expect(upstream.calls[0]!.body.toolConfig).toMatchObject({ toolChoice: { tool: { name: 'json_response' } } })
  })
})

import { CatalogSchema } from '../../src/catalog/schema'
import { compileCatalog, type Endpoint } from '../../src/catalog/snapshot'
import type { ChatRequest } from '../../src/formats/openai/request'
import { openaiAdapter } from '../../src/providers/openai'
import type { PresetId } from '../../src/providers/presets'

/** One OpenAI-format provider serving one model, built through the real catalog schema. */

export const BASE = 'https://upstream.test/v1'

export interface ProviderFields {
  preset?: PresetId
  apiVersion?: string
  headers?: Record<string, string>
  format?: 'openai' | 'anthropic'
}

export function endpointWith(fields: ProviderFields, upstreamModel = 'up-model'): Endpoint {
  const { format = 'openai', ...rest } = fields
  const catalog = CatalogSchema.parse({
    providers: [
      { id: 'p', name: 'P', format, baseUrl: BASE, apiKeyEnv: 'P_KEY', region: { name: 'x', lat: 0, lon: 0 }, dataCollection: 'deny', ...rest },
    ],
    models: [
      {
        id: 'x/y',
        name: 'Y',
        contextLength: 8000,
        modalities: { input: ['text'], output: ['text'] },
        endpoints: [{ provider: 'p', upstreamModel, pricing: { prompt: '0.000001', completion: '0.000001' }, maxCompletionTokens: 1000 }],
      },
    ],
  })
  return compileCatalog(catalog).models.get('x/y')!.endpoints[0]!
}

/** What the OpenAI adapter would send for `request` to a provider with these fields. */
export async function send(request: ChatRequest, fields: ProviderFields, stream = false, upstreamModel?: string) {
  const call = await openaiAdapter.prepare(request, endpointWith(fields, upstreamModel), 'sk-test', { stream, betas: [] })
  const sent = new Request(call.request.url, call.request.init)
  const body = (await sent.json()) as Record<string, unknown>
  return { url: sent.url, headers: sent.headers, body }
}

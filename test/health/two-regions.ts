import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import type { createApp } from '../../src/app'
import type { CatalogInput } from '../../src/catalog/schema'

/**
 * One model served from Frankfurt and from Ashburn, and a client in Frankfurt: the nearest
 * provider is `eu` by 60 ms, unless health says otherwise. For tests of what health does to routing.
 */
export function twoRegionCatalog(model: string, eu: string, us: string): CatalogInput {
  const region = (name: string, lat: number, lon: number) => ({ name, lat, lon })
  return {
    version: model,
    providers: [
      { id: 'eu', name: 'EU', format: 'openai', baseUrl: eu, apiKeyEnv: 'TEST_PROVIDER_KEY', region: region('Frankfurt', 50.11, 8.68), dataCollection: 'deny' },
      { id: 'us', name: 'US', format: 'openai', baseUrl: us, apiKeyEnv: 'TEST_PROVIDER_KEY', region: region('Ashburn', 39.04, -77.49), dataCollection: 'deny' },
    ],
    models: [
      {
        id: model,
        name: model,
        contextLength: 32000,
        modalities: { input: ['text'], output: ['text'] },
        endpoints: ['eu', 'us'].map((provider) => ({ provider, upstreamModel: 'm', pricing: { prompt: '0.000001', completion: '0.000001' }, maxCompletionTokens: 1000 })),
      },
    ],
  }
}

/** A chat completion from a client in Frankfurt, through `app` with `settings`; the serving provider's id. */
export async function askFromFrankfurt(app: ReturnType<typeof createApp>, settings: object, key: string, body: object): Promise<string | null> {
  const ctx = createExecutionContext()
  const request = new Request('http://gateway.test/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    cf: { latitude: '50.11', longitude: '8.68', colo: 'FRA' },
  } as RequestInit)
  const response = await app.fetch(request, settings, ctx)
  await response.arrayBuffer()
  await waitOnExecutionContext(ctx)
  return response.headers.get('x-meridian-provider')
}

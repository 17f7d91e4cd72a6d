import type { CatalogInput, EndpointSpec, PricingSpec } from '../src/catalog/schema'
import type { FleetProvider } from './fleet'

/**
 * The catalog `npm start` installs: the demo fleet as providers and three demo models served by
 * them (two chat, one embedding). Prices differ per provider so that price-sorted routing visibly
 * picks one; the fleet answers any model name, so `upstreamModel` is only what the gateway sends
 * upstream.
 *
 *   const fleet = await startFleet()
 *   await fetch(`${gateway}/v1/admin/catalog`, { method: 'PUT', body: JSON.stringify(devCatalog(fleet.providers)), ... })
 */
export function devCatalog(providers: FleetProvider[]): unknown {
  const catalog: CatalogInput = {
    version: 'dev',
    providers: providers.map((provider) => ({
      id: provider.id,
      name: provider.name,
      format: provider.format,
      baseUrl: provider.baseUrl,
      apiKeyEnv: 'DEMO_PROVIDER_KEY',
      headers: provider.format === 'anthropic' ? ANTHROPIC_HEADERS : {},
      region: provider.region,
      dataCollection: 'deny',
    })),
    models: [
      {
        id: 'meridian/demo-chat',
        name: 'Meridian Demo Chat',
        description: 'A simulated chat model served by the local demo fleet: streams, calls tools, reads images.',
        created: 1_767_225_600,
        contextLength: CONTEXT_LENGTH,
        modalities: { input: ['text', 'image'], output: ['text'] },
        endpoints: [
          endpoint('demo-us-east', 'demo-chat', { prompt: '0.0000025', completion: '0.00001' }, CHAT_PARAMETERS),
          endpoint('demo-eu-central', 'demo-chat', { prompt: '0.000003', completion: '0.000015' }, CHAT_PARAMETERS),
          endpoint('demo-ap-southeast', 'demo-chat', { prompt: '0.000002', completion: '0.000008' }, CHAT_PARAMETERS),
        ],
      },
      {
        id: 'meridian/demo-mini',
        name: 'Meridian Demo Mini',
        description: 'A smaller, cheaper simulated text model on two of the demo providers.',
        created: 1_767_225_600,
        contextLength: CONTEXT_LENGTH,
        modalities: { input: ['text'], output: ['text'] },
        endpoints: [
          endpoint('demo-us-east', 'demo-mini', { prompt: '0.00000015', completion: '0.0000006' }, MINI_PARAMETERS),
          endpoint('demo-eu-central', 'demo-mini', { prompt: '0.0000002', completion: '0.0000008' }, MINI_PARAMETERS),
        ],
      },
      {
        id: 'meridian/demo-embed',
        name: 'Meridian Demo Embed',
        description: 'A simulated embedding model on the two OpenAI-format demo providers: 256 dimensions, shortenable with `dimensions`.',
        created: 1_767_225_600,
        contextLength: 8192,
        modalities: { input: ['text'], output: ['embeddings'] },
        endpoints: [
          { ...endpoint('demo-us-east', 'demo-embed', { prompt: '0.00000002', completion: '0' }, ['dimensions']), contextLength: 8192, maxCompletionTokens: 1 },
          { ...endpoint('demo-ap-southeast', 'demo-embed', { prompt: '0.00000003', completion: '0' }, ['dimensions']), contextLength: 8192, maxCompletionTokens: 1 },
        ],
      },
    ],
  }
  return catalog
}

const CONTEXT_LENGTH = 128_000
const ANTHROPIC_HEADERS: Record<string, string> = { 'anthropic-version': '2023-06-01' }

const MINI_PARAMETERS = ['max_tokens', 'temperature', 'top_p', 'stop', 'seed']
const CHAT_PARAMETERS = [...MINI_PARAMETERS, 'tools', 'tool_choice', 'response_format', 'structured_outputs']

function endpoint(provider: string, upstreamModel: string, pricing: PricingSpec, supportedParameters: string[]): EndpointSpec {
  return {
    provider,
    upstreamModel,
    pricing,
    contextLength: CONTEXT_LENGTH,
    maxCompletionTokens: 4096,
    supportedParameters,
    quantization: 'unknown',
  }
}

import { reasoningOf } from '../formats/anthropic/thinking'
import { isClaude } from '../formats/bedrock/claude'
import { jsonTool } from '../formats/json-tool'
import { requestedMaxTokens } from '../formats/openai/request'
import { enforcingStops, whitespaceStops } from '../formats/stop-sequences'
import { cachesForAnHour, cachesPrompts, takesAnyTool, takesForcedTool, toBedrock } from '../formats/bedrock/request'
import { bedrockErrorMessage, bedrockProviderFault, fromBedrock } from '../formats/bedrock/response'
import { bedrockStreamMessages, createBedrockStreamDecoder } from '../formats/bedrock/stream'
import type { Adapter, UpstreamCall } from './adapter'
import { upstreamUrl } from './adapter'
import { signSigV4, uriEncode, type AwsCredentials } from './sigv4'

/**
 * AWS Bedrock Converse (`/model/{id}/converse`, `/converse-stream`), signed with SigV4. The
 * provider's one secret holds `ACCESS_KEY_ID:SECRET_ACCESS_KEY` (optionally `:SESSION_TOKEN`),
 * so a provider is live exactly when that secret is set; the signing region is read from the
 * base URL's host (`bedrock-runtime.{region}.amazonaws.com`, FIPS and VPC endpoints included),
 * else from the catalog region's name. Claude models also get their own fields (top_k, thinking)
 * and give their signed reasoning back as `reasoning_details` (formats/bedrock/claude.ts).
 */
export const bedrockAdapter: Adapter = {
  async prepare(request, endpoint, apiKey, { stream }) {
    const requested = requestedMaxTokens(request)
    const cap = endpoint.spec.maxCompletionTokens
    const maxTokens = requested === undefined ? undefined : Math.min(requested, cap)
    const { upstreamModel } = endpoint.spec
    const claude = isClaude(upstreamModel)
    const forcedTool = takesForcedTool(upstreamModel)
    const options = { maxTokens, jsonTool: forcedTool, anyTool: takesAnyTool(upstreamModel), caching: cachesPrompts(upstreamModel), hourCaching: cachesForAnHour(upstreamModel), ...(claude ? { claude: { upstreamModel, maxTokensCap: cap } } : {}) }
    const converse = toBedrock(request, options)
    const body = JSON.stringify(converse)
    const decoding = { claude, excludeReasoning: reasoningOf(request).exclude, jsonTool: forcedTool ? (jsonTool(request)?.name ?? null) : null }
    const path = `model/${uriEncode(upstreamModel)}/${stream ? 'converse-stream' : 'converse'}`
    const url = upstreamUrl(endpoint.provider.baseUrl, path)
    const headers = await signSigV4({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', accept: stream ? 'application/vnd.amazon.eventstream' : 'application/json', ...endpoint.provider.headers },
      body,
      region: awsRegion(url, endpoint.provider.region.name),
      service: 'bedrock',
      credentials: awsCredentials(apiKey),
      now: new Date(),
      signPayloadHeader: true,
    })
    const call: UpstreamCall = {
      request: { url, init: { method: 'POST', headers, body } },
      thinksFirst: thinks(converse),
      decodeCompletion: (json) => fromBedrock(json, decoding),
      decodeStream: createBedrockStreamDecoder(decoding),
      streamMessages: bedrockStreamMessages,
      errorMessage: bedrockErrorMessage,
      providerFault: bedrockProviderFault,
    }
    // Claude is not sent whitespace-only stop sequences (it refuses them): the gateway cuts at them.
    return claude ? enforcingStops(call, whitespaceStops(request)) : call
  },
}

/**
 * Whether Claude is sent thinking. Converse opens no block for it, so with its display omitted (the
 * default of Opus 4.7 and later, and what `reasoning.exclude` and /v1/responses without a summary
 * ask for) the stream's first event comes when the thinking ends.
 */
function thinks(converse: Record<string, unknown>): boolean {
  const fields = converse.additionalModelRequestFields
  const thinking = typeof fields === 'object' && fields !== null && 'thinking' in fields ? fields.thinking : null
  return typeof thinking === 'object' && thinking !== null && 'type' in thinking && thinking.type !== 'disabled'
}

/** Secret keys are base64-like and never contain `:`, so the split is unambiguous. */
export function awsCredentials(secret: string): AwsCredentials {
  const [accessKeyId, secretAccessKey, sessionToken] = secret.split(':')
  if (!accessKeyId || !secretAccessKey) throw new Error('the Bedrock secret must be "ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]"')
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
}

/**
 * The signing region: from an AWS host, else (a proxy, a private endpoint, a local simulator) the
 * catalog region's name when it is an AWS region id such as `us-west-2`.
 */
export function awsRegion(url: string, regionName: string): string {
  const region = /(?:^|\.)bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\./.exec(new URL(url).hostname)?.[1]
  if (region) return region
  if (/^[a-z]{2}(?:-gov)?-[a-z]+-\d$/.test(regionName)) return regionName
  throw new Error('a Bedrock provider needs a bedrock-runtime.{region}.amazonaws.com baseUrl or an AWS region id as its region name')
}

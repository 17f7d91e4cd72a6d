/// <reference types="node" />
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pathToFileURL } from 'node:url'
import { LLMock, type ChaosConfig, type ChatCompletionRequest, type FixtureResponse } from '@copilotkit/aimock'

/**
 * The demo provider fleet: three simulated LLM providers on loopback, each an aimock server in its
 * own "region", so `npm start` shows routing, fallback and streaming without any real API key.
 *
 *   npm run fleet                                     # ports 4101-4103
 *   FLEET_CHAOS='demo-eu-central:rateLimitRate=0.3,demo-us-east:dropRate=1' npm run fleet
 *   curl -X POST http://127.0.0.1:4101/__aimock/chaos -H 'content-type: application/json' \
 *     -d '{"disconnectRate":0.5}'                     # change one provider's faults at runtime
 *   curl -X DELETE http://127.0.0.1:4101/__aimock/chaos   # back to the startup config
 */

export type FleetProvider = {
  id: string
  name: string
  format: 'openai' | 'anthropic'
  /** The gateway appends `/chat/completions` (OpenAI) or `/messages` (Anthropic). */
  baseUrl: string
  region: { name: string; lat: number; lon: number }
}

export type FleetOptions = {
  /** First port; the others follow. 0 gives each provider a free port. */
  basePort?: number
  ttftMs?: number
  tokensPerSecond?: number
  /** Fault rates per provider id (see `parseFleetChaos`). */
  chaos?: Record<string, ChaosConfig>
}

export type Fleet = { providers: FleetProvider[]; stop(): Promise<void> }

const FLEET: readonly Omit<FleetProvider, 'baseUrl'>[] = [
  { id: 'demo-us-east', name: 'Demo US East', format: 'openai', region: { name: 'Ashburn', lat: 39.04, lon: -77.49 } },
  { id: 'demo-eu-central', name: 'Demo EU Central', format: 'anthropic', region: { name: 'Frankfurt', lat: 50.11, lon: 8.68 } },
  { id: 'demo-ap-southeast', name: 'Demo AP Southeast', format: 'openai', region: { name: 'Singapore', lat: 1.35, lon: 103.82 } },
]
export const FLEET_PROVIDER_IDS = FLEET.map((provider) => provider.id)

/** aimock streams `chunkSize` characters per event; about four characters is one token. */
const CHARS_PER_TOKEN = 4

export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  const basePort = options.basePort ?? 4101
  const profile = { ttft: options.ttftMs ?? 300, tps: options.tokensPerSecond ?? 40, jitter: 0.2 }
  const mocks: LLMock[] = []
  try {
    const providers: FleetProvider[] = []
    for (const [i, spec] of FLEET.entries()) {
      const chaos = options.chaos?.[spec.id]
      const mock = new LLMock({ host: '127.0.0.1', port: basePort === 0 ? 0 : basePort + i, ...(chaos ? { chaos } : {}) })
      mock.on({ predicate: () => true }, (req) => answer(spec, req), { streamingProfile: profile, chunkSize: CHARS_PER_TOKEN })
      if (spec.format === 'anthropic') mock.mount('/v1/messages/count_tokens', { handleRequest: countTokens })
      else mock.mount('/v1/embeddings', { handleRequest: embeddings })
      mocks.push(mock)
      await mock.start()
      providers.push({ ...spec, region: { ...spec.region }, baseUrl: `${mock.url}/v1` })
    }
    return { providers, stop: () => stopAll(mocks) }
  } catch (error) {
    await stopAll(mocks)
    throw error
  }
}

async function stopAll(mocks: LLMock[]): Promise<void> {
  await Promise.allSettled(mocks.map((mock) => mock.stop()))
}

/** The one reply rule of every demo provider: call the first tool if offered, otherwise talk. */
function answer(spec: Omit<FleetProvider, 'baseUrl'>, req: ChatCompletionRequest): FixtureResponse {
  const last = req.messages.at(-1)
  const promptTokens = tokens(req.messages.map((message) => textOf(message.content)).join('\n'))
  const tool = req.tools?.[0]
  if (tool && last?.role !== 'tool') {
    const args = JSON.stringify(demoValue(tool.function.parameters))
    return { toolCalls: [{ name: tool.function.name, arguments: args }], usage: usage(promptTokens, tokens(args)) }
  }
  const said = last?.role === 'tool' ? `the tool returned ${textOf(last.content)}` : `you said "${textOf(last?.content ?? '')}"`
  let content =
    `Hello from ${spec.name}, a Meridian demo provider answering from ${spec.region.name}. ` +
    `As far as I can tell, ${said}. ` +
    `I am a simulated model, so this reply streams at a steady pace, one token at a time, ` +
    `to show how the gateway relays a stream. Ask again and the gateway may route you to another region.`
  const format = req.response_format
  if (format?.type === 'json_schema' || format?.type === 'json_object') {
    const schema = format.type === 'json_schema' ? asRecord(format.json_schema)?.schema : undefined
    content = JSON.stringify(schema ? demoValue(schema) : { provider: spec.id, region: spec.region.name, reply: content })
  }
  let finishReason = 'stop'
  const limit = req.max_tokens ?? (typeof req.max_completion_tokens === 'number' ? req.max_completion_tokens : undefined)
  if (limit !== undefined && tokens(content) > limit) {
    content = content.slice(0, Math.max(1, limit) * CHARS_PER_TOKEN)
    finishReason = 'length'
  }
  return { content, finishReason, usage: usage(promptTokens, tokens(content)) }
}

/**
 * Anthropic's token count, by the same rule as the demo's answers count their prompt (system and
 * messages, about four characters a token), so a count matches the usage of the request it counts.
 */
async function countTokens(req: IncomingMessage, res: ServerResponse, subPath: string): Promise<boolean> {
  if (req.method !== 'POST' || subPath !== '/') return false
  let text = ''
  for await (const chunk of req) text += String(chunk)
  let body: Record<string, unknown>
  try {
    body = asRecord(JSON.parse(text)) ?? {}
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'Invalid JSON body' } }))
    return true
  }
  const system = textOf(body.system)
  const turns = Array.isArray(body.messages) ? body.messages.flatMap((message) => turnTexts(asRecord(message) ?? {})) : []
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ input_tokens: tokens([...(system ? [system] : []), ...turns].join('\n')) }))
  return true
}

/** The demo's embeddings when no `dimensions` is asked for. */
const EMBEDDING_DIMENSIONS = 256

/**
 * OpenAI's embeddings: a unit vector per input, the same for the same text, in floats or base64
 * (little-endian float32), with usage counted as the chat answers count prompts. (aimock's own
 * embeddings report no usage, so the gateway would charge nothing.)
 */
async function embeddings(req: IncomingMessage, res: ServerResponse, subPath: string): Promise<boolean> {
  if (req.method !== 'POST' || subPath !== '/') return false
  let text = ''
  for await (const chunk of req) text += String(chunk)
  const body = (() => {
    try {
      return asRecord(JSON.parse(text))
    } catch {
      return undefined
    }
  })()
  const input = body?.input
  const inputs = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((item) => typeof item === 'string') ? input : null
  const dimensions = body?.dimensions ?? EMBEDDING_DIMENSIONS
  if (!body || !inputs || inputs.length === 0 || typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1 || dimensions > 4096) {
    res.writeHead(400, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: { message: 'input must be a string or an array of strings, and dimensions an integer from 1 to 4096', type: 'invalid_request_error', code: null } }))
    return true
  }
  const base64 = body.encoding_format === 'base64'
  const data = inputs.map((item, index) => {
    const vector = demoEmbedding(item, dimensions)
    return { object: 'embedding', index, embedding: base64 ? Buffer.from(vector.buffer).toString('base64') : [...vector] }
  })
  const promptTokens = inputs.reduce((sum, item) => sum + tokens(item), 0)
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } }))
  return true
}

/** A unit vector drawn from the text's hash (FNV-1a seeding xorshift32): the same text, the same vector. */
function demoEmbedding(text: string, dimensions: number): Float32Array {
  let state = 0x811c9dc5
  for (let i = 0; i < text.length; i++) state = Math.imul(state ^ text.charCodeAt(i), 0x01000193) >>> 0
  const vector = new Float32Array(dimensions)
  let norm = 0
  for (let i = 0; i < dimensions; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    vector[i] = state / 0xffffffff - 0.5
    norm += vector[i]! * vector[i]!
  }
  const scale = 1 / Math.sqrt(norm || 1)
  for (let i = 0; i < dimensions; i++) vector[i]! *= scale
  return vector
}

/** The texts one Anthropic turn becomes in the chat messages aimock answers from: each tool result is a message of its own. */
function turnTexts(turn: Record<string, unknown>): string[] {
  const content: unknown[] = Array.isArray(turn.content) ? turn.content : []
  const blocks = content.flatMap((block) => {
    const record = asRecord(block)
    return record ? [record] : []
  })
  const results = turn.role === 'user' ? blocks.filter((block) => block.type === 'tool_result') : []
  if (results.length === 0) return [textOf(turn.content)]
  const text = blocks.filter((block) => block.type === 'text')
  return [...(text.length > 0 ? [textOf(text)] : []), ...results.map((result) => textOf(result.content))]
}

/** Both spellings, so the OpenAI and the Anthropic handler each find theirs (aimock's Anthropic default is 0). */
function usage(prompt: number, completion: number) {
  return { prompt_tokens: prompt, completion_tokens: completion, input_tokens: prompt, output_tokens: completion }
}

function tokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN))
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content.map((part) => (typeof asRecord(part)?.text === 'string' ? String(asRecord(part)?.text) : '')).join('')
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

/** A value that satisfies a JSON schema's required properties: strings "demo", numbers 1, booleans true. */
export function demoValue(schema: unknown): unknown {
  const node = asRecord(schema)
  if (!node) return {}
  if (Array.isArray(node.enum) && node.enum.length > 0) return node.enum[0]
  const type = Array.isArray(node.type) ? node.type[0] : node.type
  switch (type) {
    case 'string': return 'demo'
    case 'number': case 'integer': return 1
    case 'boolean': return true
    case 'null': return null
    case 'array': return []
  }
  const properties = asRecord(node.properties) ?? {}
  const required = Array.isArray(node.required) ? node.required.filter((key) => typeof key === 'string') : []
  return Object.fromEntries(required.map((key) => [key, demoValue(properties[key])]))
}

const CHAOS_FIELDS: Record<keyof ChaosConfig, number> = {
  dropRate: 1, malformedRate: 1, disconnectRate: 1, rateLimitRate: 1, latencyMs: 30_000,
}

/**
 * Parses `FLEET_CHAOS`: comma-separated `provider:field=value`, e.g.
 * `demo-eu-central:rateLimitRate=0.3,demo-us-east:dropRate=1`. Fields are aimock's `ChaosConfig`
 * (rates in [0, 1], `latencyMs` up to 30000); a bad entry throws rather than silently dropping faults.
 */
export function parseFleetChaos(spec: string): Record<string, ChaosConfig> {
  const result: Record<string, ChaosConfig> = {}
  for (const entry of spec.split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^([a-z0-9-]+):(\w+)=([\d.]+)$/.exec(entry)
    const [, provider = '', field = '', raw = ''] = match ?? []
    if (!match || !FLEET_PROVIDER_IDS.includes(provider) || !(field in CHAOS_FIELDS)) {
      throw new Error(`FLEET_CHAOS entry "${entry}" must be provider:field=value with provider one of ` +
        `${FLEET_PROVIDER_IDS.join(', ')} and field one of ${Object.keys(CHAOS_FIELDS).join(', ')}`)
    }
    const key = field as keyof ChaosConfig
    const value = Number(raw)
    if (!Number.isFinite(value) || value < 0 || value > CHAOS_FIELDS[key]) {
      throw new Error(`FLEET_CHAOS entry "${entry}": ${key} must be between 0 and ${CHAOS_FIELDS[key]}`)
    }
    result[provider] = { ...result[provider], [key]: value }
  }
  return result
}

/** Reads FLEET_BASE_PORT, FLEET_TTFT_MS, FLEET_TPS and FLEET_CHAOS. */
export function fleetOptionsFromEnv(env: NodeJS.ProcessEnv): FleetOptions {
  const number = (name: string): number | undefined => {
    const raw = env[name]
    if (raw === undefined || raw === '') return undefined
    const value = Number(raw)
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`)
    return value
  }
  const options: FleetOptions = { chaos: parseFleetChaos(env.FLEET_CHAOS ?? '') }
  const basePort = number('FLEET_BASE_PORT')
  const ttftMs = number('FLEET_TTFT_MS')
  const tokensPerSecond = number('FLEET_TPS')
  if (basePort !== undefined) options.basePort = basePort
  if (ttftMs !== undefined) options.ttftMs = ttftMs
  if (tokensPerSecond !== undefined) options.tokensPerSecond = tokensPerSecond
  return options
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const fleet = await startFleet(fleetOptionsFromEnv(process.env)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    return process.exit(1)
  })
  for (const p of fleet.providers) console.log(`${p.id.padEnd(18)} ${p.format.padEnd(9)} ${p.region.name.padEnd(9)} ${p.baseUrl}`)
  console.log('Faults at runtime: POST {"rateLimitRate":0.5} to <port>/__aimock/chaos; DELETE it to reset. Ctrl-C stops.')
  const shutdown = () => void fleet.stop().then(() => process.exit(0))
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}

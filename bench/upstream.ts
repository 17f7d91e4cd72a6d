/// <reference types="node" />
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'

/**
 * A fixed-latency fake provider speaking OpenAI chat completions on loopback: the one thing every
 * bench target ends at, so that only the layers in front of it differ between targets.
 *
 * JSON: waits `latencyMs`, then answers one completion. SSE (`"stream": true`): waits `latencyMs`
 * (time to first token), sends `chunks` content chunks `chunkDelayMs` apart, then a finish chunk,
 * a usage chunk and `data: [DONE]`. Usage is always sent, whatever `stream_options` says.
 *
 * Run on its own (the bench does, so the load generator and the upstream do not share an event
 * loop): `tsx bench/upstream.ts` prints `{"port":N}` once listening.
 * Env: UPSTREAM_PORT (0 = any), UPSTREAM_LATENCY_MS (10), UPSTREAM_CHUNKS (20), UPSTREAM_CHUNK_DELAY_MS (5).
 */

export interface UpstreamOptions {
  port: number
  latencyMs: number
  chunks: number
  chunkDelayMs: number
}

const PROMPT_TOKENS = 8
const CHUNK_TEXT = 'tok '

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Reads the body only to find `stream` and `model`; anything unparsable is a 400, like a real provider. */
export async function readRequest(req: IncomingMessage): Promise<{ stream: boolean; model: string } | null> {
  const parts: Buffer[] = []
  for await (const part of req) parts.push(part as Buffer)
  try {
    const body: unknown = JSON.parse(Buffer.concat(parts).toString('utf8'))
    if (typeof body !== 'object' || body === null) return null
    const stream = 'stream' in body && body.stream === true
    const model = 'model' in body && typeof body.model === 'string' ? body.model : 'bench-echo'
    return { stream, model }
  } catch {
    return null
  }
}

export function completion(model: string, chunks: number): string {
  return JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: CHUNK_TEXT.repeat(chunks) }, finish_reason: 'stop' }],
    usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: chunks, total_tokens: PROMPT_TOKENS + chunks },
  })
}

function chunk(model: string, choices: unknown[], usage: unknown = null): string {
  const body = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model, choices, usage }
  return `data: ${JSON.stringify(body)}\n\n`
}

async function streamCompletion(res: ServerResponse, model: string, options: UpstreamOptions): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  for (let i = 0; i < options.chunks; i++) {
    if (i > 0 && options.chunkDelayMs > 0) await sleep(options.chunkDelayMs)
    if (res.destroyed) return
    const delta = i === 0 ? { role: 'assistant', content: CHUNK_TEXT } : { content: CHUNK_TEXT }
    res.write(chunk(model, [{ index: 0, delta, finish_reason: null }]))
  }
  res.write(chunk(model, [{ index: 0, delta: {}, finish_reason: 'stop' }]))
  const usage = { prompt_tokens: PROMPT_TOKENS, completion_tokens: options.chunks, total_tokens: PROMPT_TOKENS + options.chunks }
  res.write(chunk(model, [], usage))
  res.end('data: [DONE]\n\n')
}

async function handle(req: IncomingMessage, res: ServerResponse, options: UpstreamOptions): Promise<void> {
  if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}')
    return
  }
  const request = await readRequest(req)
  if (!request) {
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"invalid JSON body"}}')
    return
  }
  if (options.latencyMs > 0) await sleep(options.latencyMs)
  if (request.stream) return streamCompletion(res, request.model, options)
  res.writeHead(200, { 'content-type': 'application/json' }).end(completion(request.model, options.chunks))
}

export async function startUpstream(options: UpstreamOptions): Promise<Server> {
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    handle(req, res, options).catch(() => res.destroy())
  })
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve))
  return server
}

export function upstreamOptionsFromEnv(env: NodeJS.ProcessEnv): UpstreamOptions {
  const int = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback)
    if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`)
    return value
  }
  return {
    port: int('UPSTREAM_PORT', 0),
    latencyMs: int('UPSTREAM_LATENCY_MS', 10),
    chunks: int('UPSTREAM_CHUNKS', 20),
    chunkDelayMs: int('UPSTREAM_CHUNK_DELAY_MS', 5),
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startUpstream(upstreamOptionsFromEnv(process.env))
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }))
  const stop = () => {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

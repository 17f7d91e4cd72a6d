/// <reference types="node" />
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import { completion, readRequest } from '../upstream'
import type { RealBehaviour } from './timeline'

/**
 * The simulated fleet: one OpenAI-format provider per listening port, each doing what its current
 * behaviour says (timeline.ts), plus a control port the harness drives the timeline through. Its
 * own Node process, so a provider's sleeping never shares an event loop with the load generator.
 *
 *   FLEET='[{"id":"eu-fra","latencyMs":25}]' tsx bench/faults/fleet.ts
 *   → {"control":PORT,"providers":{"eu-fra":PORT}}
 *   POST /behaviour {"provider":"eu-fra","behaviour":{"kind":"refuse"}}   applied before it answers
 *   GET  /counts                                                            requests each provider saw
 *   POST /reset                                                             all healthy, counts zeroed
 */

const WORDS = 20
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

interface Counts {
  received: number
  ok: number
  errors: number
  limited: number
}

interface Provider {
  id: string
  healthyLatencyMs: number
  port: number
  server: Server
  behaviour: RealBehaviour
  /** When the behaviour was set: flapping counts its half-periods from here. */
  since: number
  counts: Counts
}

const zeroCounts = (): Counts => ({ received: 0, ok: 0, errors: 0, limited: 0 })

/** What the provider does with a request arriving now (flapping resolves to one of its two states). */
function effective(provider: Provider, now: number): Exclude<RealBehaviour, { kind: 'flapping' }> {
  const b = provider.behaviour
  if (b.kind !== 'flapping') return b
  const half = Math.floor((now - provider.since) / (b.periodMs / 2))
  return half % 2 === 0 ? b.down : { kind: 'healthy', latencyMs: provider.healthyLatencyMs }
}

function errorBody(message: string, type: string): string {
  return JSON.stringify({ error: { message, type, code: null } })
}

async function answer(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const behaviour = effective(provider, Date.now())
  provider.counts.received++
  if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
    res.writeHead(404, { 'content-type': 'application/json' }).end(errorBody('not found', 'not_found'))
    return
  }
  const request = await readRequest(req)
  if (!request) {
    res.writeHead(400, { 'content-type': 'application/json' }).end(errorBody('invalid JSON body', 'invalid_request_error'))
    return
  }
  switch (behaviour.kind) {
    case 'refuse':
      // Accepted in the instant before the listener closed: as good as refused.
      res.destroy()
      return
    case 'error':
      await sleep(behaviour.latencyMs)
      provider.counts.errors++
      res.writeHead(behaviour.status, { 'content-type': 'application/json' }).end(errorBody('simulated outage', 'server_error'))
      return
    case 'rate-limited':
      await sleep(behaviour.latencyMs)
      provider.counts.limited++
      res
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(Number(behaviour.retryAfterS.toFixed(3))) })
        .end(errorBody('simulated rate limit', 'rate_limit_exceeded'))
      return
    case 'healthy':
      await sleep(behaviour.latencyMs)
      provider.counts.ok++
      res.writeHead(200, { 'content-type': 'application/json' }).end(completion(request.model, WORDS))
  }
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

async function startProvider(id: string, healthyLatencyMs: number): Promise<Provider> {
  const server = createServer({ keepAliveTimeout: 60_000 })
  const provider: Provider = {
    id,
    healthyLatencyMs,
    port: 0,
    server,
    behaviour: { kind: 'healthy', latencyMs: healthyLatencyMs },
    since: Date.now(),
    counts: zeroCounts(),
  }
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    answer(provider, req, res).catch(() => res.destroy())
  })
  provider.port = await listen(server, 0)
  return provider
}

/** Switches a provider's behaviour; refusing closes the listener and every open connection, and
 *  leaving "refuse" listens again on the same port. Resolves once the new behaviour holds. */
async function setBehaviour(provider: Provider, behaviour: RealBehaviour): Promise<void> {
  const wasRefusing = provider.behaviour.kind === 'refuse'
  provider.behaviour = behaviour
  provider.since = Date.now()
  if (behaviour.kind === 'refuse' && !wasRefusing) {
    await new Promise<void>((resolve) => {
      provider.server.close(() => resolve())
      provider.server.closeAllConnections()
    })
  } else if (behaviour.kind !== 'refuse' && wasRefusing) {
    await listen(provider.server, provider.port)
  }
}

const FleetSpec = z.array(z.object({ id: z.string().min(1), latencyMs: z.number().nonnegative() })).min(1)
const ErrorBehaviour = z.object({ kind: z.literal('error'), status: z.number().int(), latencyMs: z.number().nonnegative() })
const BehaviourSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('healthy'), latencyMs: z.number().nonnegative() }),
  ErrorBehaviour,
  z.object({ kind: z.literal('refuse') }),
  z.object({ kind: z.literal('rate-limited'), retryAfterS: z.number().nonnegative(), latencyMs: z.number().nonnegative() }),
  z.object({ kind: z.literal('flapping'), periodMs: z.number().positive(), down: ErrorBehaviour }),
])
const Command = z.object({ provider: z.string(), behaviour: BehaviourSchema })

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = []
  for await (const part of req) parts.push(part as Buffer)
  return JSON.parse(Buffer.concat(parts).toString('utf8'))
}

async function control(providers: Map<string, Provider>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const reply = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  }
  if (req.method === 'GET' && req.url === '/counts') {
    return reply(200, Object.fromEntries([...providers].map(([id, provider]) => [id, provider.counts])))
  }
  if (req.method === 'POST' && req.url === '/reset') {
    for (const provider of providers.values()) {
      await setBehaviour(provider, { kind: 'healthy', latencyMs: provider.healthyLatencyMs })
      provider.counts = zeroCounts()
    }
    return reply(200, {})
  }
  if (req.method === 'POST' && req.url === '/behaviour') {
    const command = Command.safeParse(await readJson(req))
    if (!command.success) return reply(400, { error: command.error.message })
    const provider = providers.get(command.data.provider)
    if (!provider) return reply(404, { error: `no provider ${command.data.provider}` })
    await setBehaviour(provider, command.data.behaviour)
    return reply(200, {})
  }
  reply(404, { error: 'not found' })
}

async function main(): Promise<void> {
  const spec = FleetSpec.parse(JSON.parse(process.env.FLEET ?? ''))
  const providers = new Map<string, Provider>()
  for (const { id, latencyMs } of spec) providers.set(id, await startProvider(id, latencyMs))
  const controlServer = createServer((req, res) => {
    control(providers, req, res).catch((error: unknown) => res.writeHead(500).end(String(error)))
  })
  const controlPort = await listen(controlServer, 0)
  console.log(JSON.stringify({ control: controlPort, providers: Object.fromEntries([...providers].map(([id, p]) => [id, p.port])) }))
  const stop = () => {
    for (const provider of providers.values()) {
      provider.server.closeAllConnections()
      provider.server.close()
    }
    controlServer.close(() => process.exit(0))
    controlServer.closeAllConnections()
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()

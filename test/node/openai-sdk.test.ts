/// <reference types="node" />
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devCatalog } from '../../scripts/dev-catalog'
import { startFleet, type Fleet } from '../../scripts/fleet'
import { startGateway, type GatewayProcess } from './support/gateway-process'

/**
 * The official `openai` SDK against the running gateway (wrangler dev + the demo fleet),
 * changing nothing but `baseURL` and the key.
 */

const ADMIN_TOKEN = 'node-test-admin-token'
let fleet: Fleet
let gateway: GatewayProcess
let client: OpenAI

beforeAll(async () => {
  fleet = await startFleet({ basePort: 0, ttftMs: 0, tokensPerSecond: 2000 })
  gateway = await startGateway({ ADMIN_TOKEN, DEMO_PROVIDER_KEY: 'demo' })
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }
  const installed = await fetch(`${gateway.url}/v1/admin/catalog`, { method: 'PUT', headers: admin, body: JSON.stringify(devCatalog(fleet.providers)) })
  expect(installed.status).toBe(200)
  const created = await fetch(`${gateway.url}/v1/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'sdk' }) })
  const { key } = (await created.json()) as { key: string }
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 })
})

afterAll(async () => {
  await gateway?.stop()
  await fleet?.stop()
})

describe('the openai SDK, unchanged', () => {
  it('makes a non-streaming call', async () => {
    const completion = await client.chat.completions.create({
      model: 'meridian/demo-chat',
      messages: [{ role: 'user', content: 'Say hello' }],
    })
    expect(completion.id).toMatch(/^gen-/)
    expect(completion.model).toBe('meridian/demo-chat')
    expect(completion.choices[0]!.message.content).toContain('Say hello')
    expect(completion.choices[0]!.finish_reason).toBe('stop')
    expect(completion.usage!.total_tokens).toBeGreaterThan(0)
    expect((completion.usage as unknown as { cost: number }).cost).toBeGreaterThan(0)
    expect((completion as unknown as { provider: string }).provider).toBe('Demo US East')
  })

  it('streams, ending with a usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'meridian/demo-chat',
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
    })
    let text = ''
    let usage: { cost?: number; completion_tokens: number } | undefined
    let pieces = 0
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content
      if (piece) {
        text += piece
        pieces++
      }
      if (chunk.usage) usage = chunk.usage as typeof usage
    }
    expect(text).toContain('Stream please')
    expect(pieces).toBeGreaterThan(5)
    expect(usage!.completion_tokens).toBeGreaterThan(0)
    expect(usage!.cost).toBeGreaterThan(0)
  })

  it('accumulates a streamed answer with the SDK helper', async () => {
    const runner = client.chat.completions.stream({ model: 'meridian/demo-chat', messages: [{ role: 'user', content: 'Accumulate' }] })
    const final = await runner.finalChatCompletion()
    expect(final.choices[0]!.message.role).toBe('assistant')
    expect(final.choices[0]!.message.content).toContain('Accumulate')
  })

  it('calls a tool', async () => {
    const completion = await client.chat.completions.create({
      model: 'meridian/demo-chat',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }],
    })
    const call = completion.choices[0]!.message.tool_calls![0]!
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls')
    expect(call.type === 'function' && call.function.name).toBe('get_weather')
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'demo' })
  })

  it('surfaces a gateway error as the SDK’s own error type', async () => {
    const error = await client.chat.completions
      .create({ model: 'nobody/nothing', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).message).toContain('No endpoints found')

    const anonymous = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'sk-mer-v1-wrong', maxRetries: 0 })
    await expect(anonymous.chat.completions.create({ model: 'meridian/demo-chat', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    )
  })

  it('lists models', async () => {
    const models = await client.models.list()
    expect(models.data.map((m) => m.id)).toEqual(['meridian/demo-chat', 'meridian/demo-mini'])
  })
})

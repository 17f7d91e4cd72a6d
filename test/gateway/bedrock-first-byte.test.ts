import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { BASE, readSse, setUpGateway } from '../support/gateway'
import { fakeUpstreams } from '../support/upstream'
import { event } from '../fixtures/bedrock/frames'
import { BEDROCK, bedrockModel, withBedrock } from '../fixtures/bedrock/catalog'

/**
 * Claude thinking on Bedrock with its display omitted sends nothing until the thinking ends:
 * Converse opens no block for it. So a Bedrock stream that thinks gets
 * TIMEOUT_FIRST_BYTE_REASONING_MS for its first event, as OpenAI's reasoning models do.
 */

const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'
const catalog = withBedrock(bedrockModel('test/sonnet', SONNET, ['max_tokens', 'reasoning', 'include_reasoning']))
const tenant = setUpGateway(catalog)

/** messageStart at once; the signature (thinking omitted) and the answer 60 ms later. */
function silentThinking(): Response {
  const frames = [
    event('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { signature: 'c2ln' } } }),
    event('contentBlockStop', { contentBlockIndex: 0 }),
    event('contentBlockDelta', { contentBlockIndex: 1, delta: { text: 'thought through' } }),
    event('contentBlockStop', { contentBlockIndex: 1 }),
    event('messageStop', { stopReason: 'end_turn' }),
    event('metadata', { usage: { inputTokens: 10, outputTokens: 900, totalTokens: 910 } }),
  ]
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(event('messageStart', { role: 'assistant' }))
      await new Promise((resolve) => setTimeout(resolve, 60))
      for (const frame of frames) controller.enqueue(frame)
      controller.close()
    },
  })
  return new Response(body, { headers: { 'content-type': 'application/vnd.amazon.eventstream' } })
}

const SETTINGS = { TIMEOUT_FIRST_BYTE_MS: '20', TIMEOUT_FIRST_BYTE_REASONING_MS: '5000', STREAM_KEEPALIVE_MS: '5000' }

async function streamed(path: string, body: object): Promise<{ status: number; raw: string }> {
  const ctx = createExecutionContext()
  const request = new Request(`${BASE}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'test/sonnet', stream: true, ...body }),
  })
  const response = await worker.fetch(request, { ...env, ...SETTINGS }, ctx)
  const raw = await response.text()
  await waitOnExecutionContext(ctx)
  return { status: response.status, raw }
}

describe('Claude thinking on Bedrock with its display omitted', () => {
  it('gets TIMEOUT_FIRST_BYTE_REASONING_MS for its first event on a chat completion that excludes the reasoning', async () => {
    const upstream = fakeUpstreams({ [BEDROCK]: silentThinking })
    const { status, raw } = await streamed('/v1/chat/completions', { max_tokens: 4000, reasoning: { max_tokens: 2048, exclude: true }, messages: [{ role: 'user', content: 'think' }] })
    expect(upstream.calls[0]!.body.additionalModelRequestFields).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2048, display: 'omitted' } })
    expect(status).toBe(200)
    const { data } = await readSse(new Response(raw))
    const content = data.map((chunk) => (chunk.choices as { delta?: { content?: string } }[] | undefined)?.[0]?.delta?.content).filter(Boolean)
    expect(content).toEqual(['thought through'])
  })

  it('gets TIMEOUT_FIRST_BYTE_REASONING_MS for its first event on /v1/responses without a reasoning summary', async () => {
    const upstream = fakeUpstreams({ [BEDROCK]: silentThinking })
    const { status, raw } = await streamed('/v1/responses', { max_output_tokens: 4000, reasoning: { effort: 'medium' }, input: 'think' })
    expect(upstream.calls[0]!.body.additionalModelRequestFields).toMatchObject({ thinking: { type: 'enabled', display: 'omitted' } })
    expect(status).toBe(200)
    expect(raw).toContain('event: response.completed')
    expect(raw).toContain('thought through')
  })

  it('without thinking, is cut at TIMEOUT_FIRST_BYTE_MS', async () => {
    const upstream = fakeUpstreams({ [BEDROCK]: silentThinking })
    const { status } = await streamed('/v1/chat/completions', { max_tokens: 4000, messages: [{ role: 'user', content: 'think' }] })
    expect(upstream.calls[0]!.body).not.toHaveProperty('additionalModelRequestFields')
    expect(status).toBe(408)
  })
})

import { describe, expect, it, vi } from 'vitest'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { chat, createKey, gatewayFetch, setUpGateway } from '../support/gateway'
import { anthropicTextEvents, data, fakeUpstreams, jsonResponse, openaiCompletion, openaiStreamEvents, sseResponse } from '../support/upstream'

/**
 * Upstreams that misbehave in ways that would cost the tenant or the isolate: redirects (a key
 * sent elsewhere), streams that never end or never close, blank answers without end.
 */

const tenant = setUpGateway()
const ask = { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] }

async function settled(key: string): Promise<void> {
  await vi.waitFor(async () => {
    const view = ((await (await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })).json()) as { data: { reserved: number; requests_in_flight: number } }).data
    expect(view).toMatchObject({ reserved: 0, requests_in_flight: 0 })
  })
}

/** A stream that sends `chunk` every millisecond until cancelled. */
function endless(chunk: Uint8Array): Response {
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 1))
      controller.enqueue(chunk)
    },
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
}

describe('redirects', () => {
  it('are not followed, and are the provider’s failure: the next provider serves', async () => {
    const redirect = () => new Response(null, { status: 302, headers: { location: 'https://elsewhere.example/collect' } })
    const upstream = fakeUpstreams({ [ALPHA]: redirect, [BETA]: redirect, [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'from gamma' })) })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(200)
    expect(((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('from gamma')
    expect(upstream.calls.map((call) => call.redirect)).toEqual(['manual', 'manual', 'manual'])
  })
})

describe('a stream that never ends', () => {
  it('is cut off once it passes what max_tokens allows, with an error chunk, charged and settled', async () => {
    const { key } = await createKey({ name: 'endless' })
    const chunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'word ' }, finish_reason: null }] }
    fakeUpstreams({ [ALPHA]: () => endless(new TextEncoder().encode(data(chunk))) })
    const response = await chat(key, { ...ask, stream: true, max_tokens: 16 })
    const text = await response.text()
    // 16 tokens × 32 characters: about a hundred chunks of "word ", then the end.
    expect(text.length).toBeLessThan(100_000)
    expect(text).toContain('"finish_reason":"error"')
    expect(text).toContain('Upstream produced more than the request allows (over 512 characters)')
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
    await settled(key)
  })

  it('whose upstream keeps its connection open after the finish and usage ends within a moment', async () => {
    const { key } = await createKey({ name: 'held-open' })
    fakeUpstreams({ [BETA]: () => sseResponse(anthropicTextEvents('Hello', { input_tokens: 10, output_tokens: 3 }), { stall: true }) })
    const response = await chat(key, { model: 'test/claude', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    const text = await Promise.race([response.text(), new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 10_000))])
    expect(text).toContain('"content":"Hello"')
    expect(text).toContain('"completion_tokens":3')
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
    await settled(key)
  })

  it('held open after a first event that carried the finish and usage (read while opening), ends too', async () => {
    const only = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }
    fakeUpstreams({ [ALPHA]: () => sseResponse([data(only)], { stall: true }) })
    const response = await chat(tenant.key, { ...ask, stream: true, provider: { order: ['alpha'] } })
    const text = await Promise.race([response.text(), new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 10_000))])
    expect(text).toContain('"content":"Hi"')
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
  })

  it('an OpenAI stream held open after its finish and usage, with no [DONE], ends too', async () => {
    fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['Hi']).filter((event) => !event.includes('[DONE]')), { stall: true }) })
    const response = await chat(tenant.key, { ...ask, stream: true })
    const text = await Promise.race([response.text(), new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 10_000))])
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
    expect(text).not.toContain('"finish_reason":"error"')
  })
})

describe('a streamed answer labelled JSON that is only blank', () => {
  it('is not held in memory whole: the blanks are read as a stream, whose lines are bounded, and the next provider serves', async () => {
    let pulledMiB = 0
    const mebibyte = new Uint8Array(1024 * 1024).fill(0x20)
    const blanks = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulledMiB++ >= 64) controller.close()
        else controller.enqueue(mebibyte)
      },
    })
    fakeUpstreams({
      [ALPHA]: () => new Response(blanks, { headers: { 'content-type': 'application/json' } }),
      [BETA]: () => sseResponse([]),
      [GAMMA]: () => sseResponse(openaiStreamEvents(['ok'])),
    })
    const response = await chat(tenant.key, { ...ask, stream: true })
    expect(await response.text()).toContain('"content":"ok"')
    // The stream reader's 8 MiB bound on a line, and what the runtime reads ahead: not all 64.
    expect(pulledMiB).toBeLessThanOrEqual(12)
  })
})

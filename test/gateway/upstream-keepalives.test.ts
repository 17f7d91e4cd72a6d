import { waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { ALPHA, BETA } from '../support/catalog'
import { chat, chatWithSettings, readSse, setUpGateway } from '../support/gateway'
import { anthropicEvent, anthropicTextEvents, fakeUpstreams, openaiStreamEvents, sseResponse } from '../support/upstream'

/**
 * An upstream working mid-stream with nothing to show sends SSE comments (OpenRouter's
 * `: OPENROUTER PROCESSING`), as Anthropic sends `ping` events: it is alive, so the stream is not
 * cut as stalled, and the client hears Meridian's keep-alives meanwhile. And a stream whose lines
 * end with a lone CR (the SSE spec allows it) is read to its last event.
 */

const tenant = setUpGateway()
const ask = { model: 'test/chat', stream: true, messages: [{ role: 'user', content: 'hi' }], provider: { only: ['alpha'] } }

/** The answer, once the request's work after it is done too. */
async function chatWith(settings: Record<string, string>, body: object): Promise<Response> {
  const { response, ctx } = await chatWithSettings(tenant.key, settings, body)
  await response.clone().text()
  await waitOnExecutionContext(ctx)
  return response
}

/** An upstream body of these texts, where a number is a pause of that many milliseconds. */
function timed(parts: (string | number)[]): Response {
  const encoder = new TextEncoder()
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      for (const part of parts) {
        if (typeof part === 'number') await new Promise((resolve) => setTimeout(resolve, part))
        else controller.enqueue(encoder.encode(part))
      }
      controller.close()
    },
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
}

const beats = (keepAlive: string, count: number, everyMs: number) => Array.from({ length: count }, () => [keepAlive, everyMs]).flat()
const keepAlivesBetween = (raw: string, from: string, to: string) => raw.slice(raw.indexOf(from), raw.indexOf(to)).split(': MERIDIAN PROCESSING').length - 1
const contents = (chunks: Record<string, unknown>[]) => chunks.map((chunk) => (chunk.choices as Array<{ delta?: { content?: string } }>)[0]?.delta?.content).filter(Boolean)

describe("an upstream's comments mid-stream", () => {
  // "one"; then 400 ms of nothing but comments 25 ms apart; then "two", the finish, usage and [DONE].
  const events = openaiStreamEvents(['one', 'two'])
  const working = [...events.slice(0, 2), ...beats(': OPENROUTER PROCESSING\n\n', 16, 25), ...events.slice(2)]

  it('keep the client hearing Meridian’s keep-alives, as Anthropic pings do', async () => {
    fakeUpstreams({ [ALPHA]: () => timed(working) })
    const { data: chunks, raw } = await readSse(await chatWith({ STREAM_KEEPALIVE_MS: '50', TIMEOUT_IDLE_MS: '5000' }, ask))
    expect(contents(chunks)).toEqual(['one', 'two'])
    expect(keepAlivesBetween(raw, '"content":"one"', '"content":"two"')).toBeGreaterThan(0)
  })

  it('show the upstream is alive: the stream is not cut as stalled while they keep coming', async () => {
    fakeUpstreams({ [ALPHA]: () => timed(working) })
    const { data: chunks, done } = await readSse(await chatWith({ STREAM_KEEPALIVE_MS: '50', TIMEOUT_IDLE_MS: '200' }, ask))
    expect(chunks.find((chunk) => chunk.error)).toBeUndefined()
    expect(contents(chunks)).toEqual(['one', 'two'])
    expect(done).toBe(true)
  })

  it('(as the same gap of Anthropic pings is)', async () => {
    const [start, blockStart, delta, ...rest] = anthropicTextEvents('one')
    fakeUpstreams({ [BETA]: () => timed([start!, blockStart!, delta!, ...beats(anthropicEvent('ping', {}), 16, 25), ...rest]) })
    const { data: chunks, raw } = await readSse(await chatWith({ STREAM_KEEPALIVE_MS: '50', TIMEOUT_IDLE_MS: '200' }, { ...ask, model: 'test/claude', provider: undefined }))
    expect(chunks.find((chunk) => chunk.error)).toBeUndefined()
    expect(keepAlivesBetween(raw, '"content":"one"', '"finish_reason":"stop"')).toBeGreaterThan(0)
  })
})

describe('a stream whose lines end with a lone CR', () => {
  it('is relayed whole, to its finish and usage', async () => {
    const crOnly = anthropicTextEvents('Hello', { input_tokens: 10, output_tokens: 2 }).map((event) => event.replaceAll('\n', '\r'))
    fakeUpstreams({ [BETA]: () => sseResponse(crOnly) })
    const { data: chunks, done } = await readSse(await chat(tenant.key, { ...ask, model: 'test/claude', provider: undefined }))
    expect(contents(chunks).join('')).toBe('Hello')
    expect(chunks.find((chunk) => chunk.error)).toBeUndefined()
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 2 })
    expect(done).toBe(true)
  })
})

describe('an upstream that keeps its body open after [DONE]', () => {
  it('is let go: its body is cancelled once the answer is whole', async () => {
    let cancelled = false
    const encoder = new TextEncoder()
    fakeUpstreams({
      [ALPHA]: () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              for (const event of openaiStreamEvents(['Hello'])) controller.enqueue(encoder.encode(event))
              // …and nothing more, never closed.
            },
            cancel() {
              cancelled = true
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
    })
    const { response, ctx } = await chatWithSettings(tenant.key, {}, { model: 'test/chat', stream: true, messages: [{ role: 'user', content: 'hi' }], provider: { only: ['alpha'] } })
    expect((await readSse(response)).done).toBe(true)
    await waitOnExecutionContext(ctx)
    expect(cancelled).toBe(true)
  })
})

import { waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it, vi } from 'vitest'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { chat, chatWithSettings, type ErrorJson, generationOf, readSse, setUpGateway } from '../support/gateway'
import { anthropicEvent, anthropicTextEvents, data, fakeUpstreams, jsonResponse, latch, never, openaiStreamEvents, sseResponse } from '../support/upstream'

const tenant = setUpGateway()

const ask = { model: 'test/chat', stream: true, messages: [{ role: 'user', content: 'hi' }] }

const chatWith = (settings: Record<string, string>, body: object) => chatWithSettings(tenant.key, settings, body)

describe('streaming relay', () => {
  it('relays chunks as OpenAI chunks, then a usage chunk with cost, then [DONE]', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['Hel', 'lo', '!'], { usage: { prompt_tokens: 1000, completion_tokens: 3 } })) })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const generationId = response.headers.get('x-generation-id')
    expect(generationId).toMatch(/^gen-/)
    const { data: chunks, done } = await readSse(response)
    expect(upstream.calls[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    expect(done).toBe(true)
    expect(chunks.map((c) => (c.choices as any[])[0]?.delta?.content ?? null)).toEqual(['Hel', 'lo', '!', null, null])
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ id: generationId, object: 'chat.completion.chunk', model: 'test/chat', provider: 'Alpha' })
      expect(typeof chunk.system_fingerprint).toBe('string')
    }
    expect((chunks[0]!.choices as any[])[0].delta.role).toBe('assistant')
    expect((chunks[3]!.choices as any[])[0]).toMatchObject({ finish_reason: 'stop', native_finish_reason: 'stop' })
    const last = chunks.at(-1)!
    expect(last.choices).toEqual([])
    expect(last.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 3, total_tokens: 1003, cost: 0.001006 })
  })

  it('passes over events with no data, as some servers send to keep alive', async () => {
    const [first, ...rest] = openaiStreamEvents(['Hel', 'lo'])
    fakeUpstreams({ [ALPHA]: () => sseResponse([first!, 'data:\n\n', ...rest.slice(0, 1), 'data: \n\n', ...rest.slice(1)]) })
    const { data: chunks } = await readSse(await chat(tenant.key, ask))
    expect(chunks.some((chunk) => chunk.error)).toBe(false)
    expect(chunks.map((c) => (c.choices as any[])[0]?.delta?.content).filter(Boolean).join('')).toBe('Hello')
  })

  it('streams tool-call deltas in OpenAI incremental form', async () => {
    const chunk = (delta: object, finish: string | null = null) => data({ choices: [{ index: 0, delta, finish_reason: finish }] })
    fakeUpstreams({
      [ALPHA]: () =>
        sseResponse([
          chunk({ role: 'assistant', content: null, tool_calls: [] }),
          chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }] }),
          chunk({}, 'tool_calls'),
          'data: [DONE]\n\n',
        ]),
    })
    const { data: chunks } = await readSse(await chat(tenant.key, ask))
    const deltas = chunks.map((c) => (c.choices as any[])[0]?.delta?.tool_calls).filter(Boolean)
    expect(deltas).toEqual([
      [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }],
      [{ index: 0, function: { arguments: '{"ci' } }],
      [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }],
    ])
    expect((chunks.at(-2)!.choices as any[])[0].finish_reason).toBe('tool_calls')
    // The upstream sent no usage: an estimate is reported, never zero.
    expect((chunks.at(-1)!.usage as { completion_tokens: number }).completion_tokens).toBeGreaterThan(0)
  })

  it('gives a streamed tool call the upstream sent without an id one, as the OpenAI SDK needs', async () => {
    const chunk = (delta: object, finish: string | null = null) => data({ choices: [{ index: 0, delta, finish_reason: finish }] })
    fakeUpstreams({
      [GAMMA]: () =>
        sseResponse([
          chunk({ role: 'assistant', tool_calls: [{ index: 0, function: { name: 'get_weather', arguments: '{"city":' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
          chunk({}, 'tool_calls'),
          'data: [DONE]\n\n',
        ]),
    })
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }]
    const { data: chunks } = await readSse(await chat(tenant.key, { ...ask, model: 'test/other', tools }))
    const fragments = chunks.flatMap((c) => (c.choices as any[]).flatMap((choice) => choice.delta?.tool_calls ?? []))
    expect(fragments[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather' } })
    expect(fragments.map((fragment) => fragment.function.arguments).join('')).toBe('{"city":"Paris"}')
  })

  it('sends keep-alives while an open upstream works and shows nothing (Claude thinking with its display omitted, pinging)', async () => {
    const pause = () => new Promise((resolve) => setTimeout(resolve, 120))
    const events = [
      anthropicEvent('message_start', { message: { id: 'msg_up', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
      anthropicEvent('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }),
      null,
      anthropicEvent('ping', {}),
      null,
      anthropicEvent('ping', {}),
      anthropicEvent('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'sig' } }),
      anthropicEvent('content_block_stop', { index: 0 }),
      ...anthropicTextEvents('Done.').slice(1),
    ]
    fakeUpstreams({
      [BETA]: () => {
        const encoder = new TextEncoder()
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            for (const event of events) {
              if (event === null) await pause()
              else controller.enqueue(encoder.encode(event))
            }
            controller.close()
          },
        })
        return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
      },
    })
    const { response, ctx } = await chatWith({ STREAM_KEEPALIVE_MS: '50' }, { ...ask, model: 'test/claude' })
    const text = await response.text()
    await waitOnExecutionContext(ctx)
    // Upstream pings 120 ms apart: each is past the 50 ms interval, so each sends one.
    expect(text.match(/: MERIDIAN PROCESSING/g)).toHaveLength(2)
    expect(text).toContain('Done.')
  })

  it('sends keep-alive comments while the upstream is slow to start', async () => {
    const gate = latch()
    fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['late']), { hold: gate.promise }) })
    const { response, ctx } = await chatWith({ STREAM_KEEPALIVE_MS: '5' }, ask)
    expect(response.status).toBe(200)
    const reader = response.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    expect(first).toBe(': MERIDIAN PROCESSING\n\n')
    gate.release()
    let rest = ''
    for (let read = await reader.read(); !read.done; read = await reader.read()) rest += new TextDecoder().decode(read.value)
    await waitOnExecutionContext(ctx)
    expect(rest).toContain('"content":"late"')
    expect(rest.trimEnd().endsWith('data: [DONE]')).toBe(true)
  })

  it('turns a failure after the first byte into an error chunk, then usage and [DONE]', async () => {
    const upstream = fakeUpstreams({
      [ALPHA]: () => sseResponse(openaiStreamEvents(['one', 'two', 'three']), { failAfter: 3 }),
      [GAMMA]: () => sseResponse(openaiStreamEvents(['never used'])),
    })
    const response = await chat(tenant.key, ask)
    expect(response.status).toBe(200)
    const { data: chunks, done } = await readSse(response)
    const contents = chunks.map((c) => (c.choices as any[])[0]?.delta?.content).filter(Boolean)
    expect(contents).toEqual(['one', 'two'])
    const errorChunk = chunks.find((c) => c.error)!
    expect(errorChunk.error).toMatchObject({ code: 502, metadata: { provider_name: 'Alpha' } })
    expect((errorChunk.choices as any[])[0].finish_reason).toBe('error')
    expect(chunks.at(-1)!.usage).toBeDefined()
    expect(done).toBe(true)
    // No failover after the first byte: the other providers were never called.
    expect(upstream.calls).toHaveLength(1)
  })

  it("never relays the gateway's provider key from an error event after the first byte", async () => {
    fakeUpstreams({
      [ALPHA]: (call) => {
        const echoed = data({ error: { message: `quota exceeded for ${call.headers.get('authorization')}`, key: call.headers.get('authorization') } })
        return sseResponse([...openaiStreamEvents(['one']).slice(0, 2), echoed])
      },
    })
    const { data: chunks } = await readSse(await chat(tenant.key, ask))
    expect(JSON.stringify(chunks)).not.toContain('test-upstream-key')
    expect(chunks.find((c) => c.error)?.error).toMatchObject({
      message: 'quota exceeded for Bearer [redacted]',
      metadata: { raw: { key: 'Bearer [redacted]' } },
    })
  })

  it('reports an upstream that ends without finishing as an error', async () => {
    fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['cut']).slice(0, 2)) })
    const { data: chunks } = await readSse(await chat(tenant.key, ask))
    expect(chunks.find((c) => c.error)?.error).toMatchObject({ message: 'Upstream ended the stream without finishing' })
  })

  it('charges what an unfinished stream relayed, past the usage the upstream had counted so far', async () => {
    const words = 'A sentence long enough to be many tokens by the estimate.'
    // Some upstreams repeat cumulative usage on every chunk; this one is cut before it counts the output.
    const chunk = data({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: words } }], usage: { prompt_tokens: 10, completion_tokens: 0 } })
    fakeUpstreams({ [ALPHA]: () => sseResponse([chunk, chunk]) })
    const { data: chunks } = await readSse(await chat(tenant.key, ask))
    expect(chunks.find((c) => c.error)?.error).toMatchObject({ message: 'Upstream ended the stream without finishing' })
    const usage = chunks.at(-1)!.usage as { prompt_tokens: number; completion_tokens: number }
    expect(usage.prompt_tokens).toBe(10)
    expect(usage.completion_tokens).toBeGreaterThanOrEqual(Math.floor((2 * words.length) / 4))
  })

  it('cuts a stream that goes silent after TIMEOUT_IDLE_MS with a 408 error chunk', async () => {
    fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['a', 'b']).slice(0, 2), { stall: true }) })
    const { response, ctx } = await chatWith({ TIMEOUT_IDLE_MS: '20' }, ask)
    const { data: chunks, done } = await readSse(response)
    await waitOnExecutionContext(ctx)
    expect(chunks.find((c) => c.error)?.error).toMatchObject({ code: 408 })
    expect(done).toBe(true)
  })

  it('ends a stream that goes silent after its finish as a whole answer, not an error, charging an estimate of what it relayed', async () => {
    // The finish chunk came; the usage chunk and [DONE] never do.
    fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['a whole answer']).slice(0, 3), { stall: true }) })
    const { response, ctx } = await chatWith({ TIMEOUT_IDLE_MS: '20' }, ask)
    const { data: chunks, done } = await readSse(response)
    await waitOnExecutionContext(ctx)
    expect(chunks.some((c) => c.error)).toBe(false)
    expect(chunks.flatMap((c) => (c.choices as Array<{ finish_reason: string | null }>).map((choice) => choice.finish_reason)).filter(Boolean)).toEqual(['stop'])
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 4 })
    expect(done).toBe(true)
    await vi.waitFor(async () => expect(await generationOf(tenant.key, chunks[0]!.id as string)).toMatchObject({ finish_reason: 'stop', tokens_completion: 4 }))
  })

  it('ends a stream whose upstream sends an error after its finish as the whole answer it is', async () => {
    const events = openaiStreamEvents(['a whole answer'])
    const error = data({ error: { message: 'stream tail lost', code: 502 } })
    fakeUpstreams({ [ALPHA]: () => sseResponse([...events.slice(0, 3), error, ...events.slice(3)]) })
    const { data: chunks, done } = await readSse(await chat(tenant.key, ask))
    expect(chunks.some((c) => c.error)).toBe(false)
    expect(done).toBe(true)
    await vi.waitFor(async () => expect(await generationOf(tenant.key, chunks[0]!.id as string)).toMatchObject({ finish_reason: 'stop', tokens_completion: 1 }))
  })

  it('reads the usage that follows the finish when the client leaves at the finish, and charges it, not an estimate', async () => {
    const gate = latch()
    // Role, content, finish; then, once the client has gone, usage and [DONE].
    // 57 characters: 15 tokens by the estimate, 12 as the upstream counted them.
    const events = openaiStreamEvents(['A sentence long enough to be many tokens by the estimate.'], { usage: { prompt_tokens: 900, completion_tokens: 12 } })
    fakeUpstreams({ [ALPHA]: () => sseResponse(events, { pause: { after: 3, until: gate.promise } }) })
    const reader = (await chat(tenant.key, ask)).body!.getReader()
    let text = ''
    while (!text.includes('"finish_reason":"stop"')) text += new TextDecoder().decode((await reader.read()).value)
    const id = /"id":"(gen-[^"]+)"/.exec(text)![1]!
    await reader.cancel()
    gate.release()
    await vi.waitFor(async () => expect(await generationOf(tenant.key, id)).toHaveProperty('tokens_prompt', 900))
    expect(await generationOf(tenant.key, id)).toMatchObject({ tokens_prompt: 900, tokens_completion: 12, usage_estimated: false })
  })

  it('answers with a real HTTP status when every provider fails before the first byte', async () => {
    fakeUpstreams({
      [ALPHA]: () => jsonResponse({ error: { message: 'overloaded' } }, 503),
      [GAMMA]: () => jsonResponse({ error: { message: 'also overloaded' } }, 503),
    })
    const response = await chat(tenant.key, { ...ask, model: 'test/other' })
    expect(response.status).toBe(502)
    expect(response.headers.get('x-meridian-attempts')).toBe('1')
    expect(response.headers.get('x-generation-id')).toMatch(/^gen-/)
    const body = (await response.json()) as ErrorJson
    expect(body.error).toMatchObject({ code: 502, message: 'Provider returned error', metadata: { provider_name: 'Gamma', raw: { error: { message: 'also overloaded' } } } })
  })

  it('when already committed, reports total failure as an error chunk', async () => {
    const gate = latch()
    fakeUpstreams({
      [GAMMA]: async () => {
        await gate.promise
        return jsonResponse({ error: { message: 'down' } }, 500)
      },
    })
    const { response, ctx } = await chatWith({ STREAM_KEEPALIVE_MS: '5' }, { ...ask, model: 'test/other' })
    expect(response.status).toBe(200)
    gate.release()
    const { data: chunks, comments, done } = await readSse(response)
    await waitOnExecutionContext(ctx)
    expect(comments[0]).toBe('MERIDIAN PROCESSING')
    expect(chunks[0]!.error).toMatchObject({ code: 502, metadata: { provider_name: 'Gamma' } })
    expect(done).toBe(true)
  })

  it('times out an upstream that never sends its first byte and moves on', async () => {
    fakeUpstreams({ [ALPHA]: never, [GAMMA]: () => sseResponse(openaiStreamEvents(['from gamma'])) })
    const { response, ctx } = await chatWith({ TIMEOUT_FIRST_BYTE_MS: '20', STREAM_KEEPALIVE_MS: '5000' }, ask)
    const { data: chunks } = await readSse(response)
    await waitOnExecutionContext(ctx)
    expect(response.headers.get('x-meridian-provider')).toBe('gamma')
    expect(chunks.map((c) => (c.choices as any[])[0]?.delta?.content).filter(Boolean)).toEqual(['from gamma'])
  })
})

import { createExecutionContext, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import type { KeyDO } from '../../src/tenancy/key-do'
import type { Ledger } from '../../src/tenancy/ledger'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { ADMIN_TOKEN, adminFetch, BASE, chat, createKey, forgetServedHealth, gatewayFetch, installCatalog, readSse, type ErrorJson } from '../support/gateway'
import { anthropicEvent, anthropicText, fakeUpstreams, jsonResponse, latch, openaiCompletion, openaiStreamEvents, sseResponse } from '../support/upstream'

beforeAll(() => installCatalog())
afterEach(async () => {
  vi.restoreAllMocks()
  // A test's failed upstreams must not reorder the next test's route.
  await forgetServedHealth()
})

const stub = (hash: string) => env.KEYS.get(env.KEYS.idFromName(hash))

/** What the key's Durable Object holds, read inside it. */
function inspect(hash: string) {
  return runInDurableObject(stub(hash), (_instance, state) => {
    const ledger = state.storage.kv.get<Ledger>('ledger')
    // A deleted key's object has no tables (KeyDO.remove): it holds no rows.
    const has = (table: string) => state.storage.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, table).toArray().length > 0
    const reservations = has('reservations') ? state.storage.sql.exec<{ state: string; n: number }>('SELECT state, COUNT(*) AS n FROM reservations GROUP BY state').toArray() : []
    const generations = has('generations') ? state.storage.sql.exec<{ record: string }>('SELECT record FROM generations ORDER BY id').toArray() : []
    return {
      ledger,
      reservations: Object.fromEntries(reservations.map((r) => [r.state, r.n])),
      generations: generations.map((g) => JSON.parse(g.record) as Record<string, any>),
    }
  })
}

const hi = [{ role: 'user', content: 'hi' }]

/** A stream body that sends `opening`, then each event the test pushes, until it closes it. */
function pushedStream(opening: string[]) {
  const encoder = new TextEncoder()
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null
  const body = new ReadableStream<Uint8Array>({
    start(opened) {
      controller = opened
      for (const event of opening) opened.enqueue(encoder.encode(event))
    },
  })
  return { body, push: (event: string) => controller?.enqueue(encoder.encode(event)), close: () => controller?.close() }
}

/** When each of the key's reservations expires, by id. */
function expiries(hash: string): Promise<Record<string, number>> {
  return runInDurableObject(stub(hash), (_instance, state) => {
    const rows = state.storage.sql.exec<{ id: string; expires_at: number }>('SELECT id, expires_at FROM reservations ORDER BY id').toArray()
    return Object.fromEntries(rows.map((row) => [row.id, row.expires_at]))
  })
}

/**
 * Sends a chat request, hangs up once the upstream has its first call, then lets that call go on
 * (`gate`); resolves with what the key's object holds once the request's record is in.
 */
async function hangUpDuringFirstCall(key: string, hash: string, body: object, upstream: { calls: unknown[] }, gate: { release: () => void }) {
  const client = new AbortController()
  const pending = gatewayFetch('/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: client.signal,
  })
  await vi.waitFor(() => expect(upstream.calls).toHaveLength(1))
  client.abort()
  await expect(pending).rejects.toThrow()
  gate.release()
  await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1), { timeout: 5_000 })
  return inspect(hash)
}

/** The key's reservations by kind: tickets (admissions decided ahead) and requests' own, per state. */
function reservationKinds(hash: string) {
  return runInDurableObject(stub(hash), (_instance, state) => {
    const rows = state.storage.sql
      .exec<{ kind: string; state: string; n: number }>(
        `SELECT CASE WHEN id LIKE 'ticket-%' THEN 'ticket' ELSE 'own' END AS kind, state, COUNT(*) AS n FROM reservations GROUP BY kind, state`,
      )
      .toArray()
    return Object.fromEntries(rows.map((row) => [`${row.kind} ${row.state}`, row.n]))
  })
}

describe('a budget is never overspent', () => {
  it('admits exactly what the limit covers out of 200 concurrent requests, and the ledger agrees', async () => {
    // Worst case per request: prompt bound 18 tokens (16 overhead + "hi") at $1/M + 100 output at $2/M = 218,000 nano-USD.
    const worstCase = 218_000
    const { key, hash } = await createKey({ name: 'budget', limit: (50 * worstCase + 100_000) / 1e9 })
    const gate = latch()
    // Each served request really costs its worst case, so spend lands exactly on the reserved amounts.
    const upstream = fakeUpstreams({
      [ALPHA]: async () => {
        await gate.promise
        return jsonResponse(openaiCompletion({ usage: { prompt_tokens: 18, completion_tokens: 100 } }))
      },
    })
    const responses = Array.from({ length: 200 }, () => chat(key, { model: 'test/chat', messages: hi, max_tokens: 100 }))
    await vi.waitFor(() => expect(upstream.calls.length).toBe(50), { timeout: 10_000 })
    const during = await inspect(hash)
    expect(during.ledger).toMatchObject({ reservedNano: 50 * worstCase, inFlight: 50, totalNano: 0 })
    gate.release()
    const settled = await Promise.all(responses)
    const statuses = settled.map((r) => r.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(50)
    expect(statuses.filter((s) => s === 402)).toHaveLength(150)
    for (const refused of settled.filter((r) => r.status === 402)) {
      const body = (await refused.json()) as ErrorJson
      expect(body.error).toMatchObject({ code: 402, metadata: { error_type: 'payment_required', required: worstCase / 1e9 } })
      expect(body.error.message).toMatch(/can cost up to \$0\.000218 but the key has \$0\.000\d+ of its \$0\.011 limit left/)
    }
    const costs = await Promise.all(settled.filter((r) => r.status === 200).map(async (r) => ((await r.json()) as { usage: { cost: number } }).usage.cost))
    await vi.waitFor(async () => expect((await inspect(hash)).reservations).toEqual({ settled: 50 }))
    // Tickets were in play (granted, then taken or given back); every reservation is settled (above).
    expect((await reservationKinds(hash))['ticket settled']).toBeGreaterThan(0)
    const after = await inspect(hash)
    expect(after.ledger).toMatchObject({ totalNano: 50 * worstCase, reservedNano: 0, inFlight: 0 })
    expect(after.ledger!.totalNano).toBeLessThanOrEqual(50 * worstCase + 100_000)
    expect(after.generations).toHaveLength(50)
    // usage.cost in each response is what the ledger charged for it
    expect(costs.every((cost) => cost === worstCase / 1e9)).toBe(true)
    expect(after.generations.every((g) => g.cost_nano === worstCase)).toBe(true)
    // Nothing is left for the alarm to find
    await runDurableObjectAlarm(stub(hash))
    expect((await inspect(hash)).ledger).toMatchObject({ totalNano: 50 * worstCase, reservedNano: 0 })
  })

  it('charges no more than admission reserved when an upstream reports more usage than max_tokens allows', async () => {
    // 218,000 nano-USD is the worst case of max_tokens 100 (above); the limit covers it and no more.
    const worstCase = 218_000
    const { key, hash } = await createKey({ name: 'overreported', limit: worstCase / 1e9 })
    const overreported = { prompt_tokens: 18, completion_tokens: 10_000, total_tokens: 10_018 }
    fakeUpstreams({ [ALPHA]: (call) => (call.body.stream ? sseResponse(openaiStreamEvents(['a'], { usage: overreported })) : jsonResponse(openaiCompletion({ usage: overreported }))) })

    const answered = (await (await chat(key, { model: 'test/chat', messages: hi, max_tokens: 100 })).json()) as { usage: { cost: number; completion_tokens: number } }
    // The tokens are reported as the upstream counted them; the cost is what the key was charged.
    expect(answered.usage).toMatchObject({ completion_tokens: 10_000, cost: worstCase / 1e9 })
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1))
    expect((await inspect(hash)).ledger).toMatchObject({ totalNano: worstCase, reservedNano: 0 })

    // The same through a stream, on a key that has room for it.
    await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: JSON.stringify({ limit: (2 * worstCase) / 1e9 }) })
    const streamed = await readSse(await chat(key, { model: 'test/chat', messages: hi, max_tokens: 100, stream: true }))
    expect(streamed.data.at(-1)).toMatchObject({ usage: { completion_tokens: 10_000, cost: worstCase / 1e9 } })
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(2))
    const after = await inspect(hash)
    expect(after.ledger).toMatchObject({ totalNano: 2 * worstCase, reservedNano: 0 })
    expect(after.generations.map((g) => [g.tokens_completion, g.cost_nano])).toEqual([[10_000, worstCase], [10_000, worstCase]])
  })

  it('counts no more tokens against tokens_per_minute than the request could use, however many an upstream reports', async () => {
    const { key, hash } = await createKey({ name: 'overcounted', rate_limit: { tokens_per_minute: 1_000 } })
    const overcounted = { prompt_tokens: 1_000_000_000, completion_tokens: 10_000, total_tokens: 1_000_010_000 }
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ usage: overcounted })) })
    expect((await chat(key, { model: 'test/chat', messages: hi, max_tokens: 100 })).status).toBe(200)
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1))
    // Charged the request's bound (prompt bound 18 + max_tokens 100), less what a few ms refilled;
    // charged the upstream's billion, the bucket would stay empty for two years.
    const level = (await inspect(hash)).ledger?.tokens?.level ?? 0
    expect(level).toBeGreaterThanOrEqual(1_000 - 118)
    expect(level).toBeLessThan(1_000 - 100)
    expect((await chat(key, { model: 'test/chat', messages: hi, max_tokens: 100 })).status).toBe(200)
  })

  it.each([
    ['by reference', 'https://example.com/report.pdf'],
    // A few inline kilobytes may hold a hundred pages, each billed as an image plus its text.
    ['inline', 'data:application/pdf;base64,JVBERi0xLjQK'],
  ])('reserves the whole context window for a file given %s, whose tokens the request does not show', async (_label, fileData) => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    // Text alone would reserve 218,000 nano-USD (above); the file may fill test/chat's 128,000-token window.
    const { key } = await createKey({ name: 'file', limit: 0.001 })
    const file = { type: 'file', file: { filename: 'report.pdf', file_data: fileData } }
    const response = await chat(key, { model: 'test/chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, file] }], max_tokens: 100 })
    expect(response.status).toBe(402)
    // 128,000 prompt tokens at $1/M + 100 output tokens at $2/M
    expect(((await response.json()) as ErrorJson).error.metadata).toMatchObject({ required: 0.1282 })
    expect(upstream.calls).toHaveLength(0)
  })

  it("reserves a predicted output's tokens as output: the ones the model rejects are billed as completion, beyond max_tokens", async () => {
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const { key } = await createKey({ name: 'prediction', limit: 0.01 })
    const prediction = { type: 'content', content: 'x'.repeat(400_000) }
    expect((await chat(key, { model: 'test/other', messages: hi, max_tokens: 100 })).status).toBe(200)
    const response = await chat(key, { model: 'test/other', messages: hi, max_tokens: 100, prediction })
    expect(response.status).toBe(402)
    // 100 + 400,029 output tokens (the prediction's JSON) at $2/M, and the prompt's few at $1/M.
    const { required } = ((await response.json()) as ErrorJson).error.metadata as { required: number }
    expect(required).toBeGreaterThan(0.80026)
    expect(required).toBeLessThan(0.8003)
    expect(upstream.calls).toHaveLength(1)
  })

  it('bites on the next request when the limit is lowered', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const { key, hash } = await createKey({ name: 'lowered', limit: 1 })
    expect((await chat(key, { model: 'test/chat', messages: hi })).status).toBe(200)
    await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: JSON.stringify({ limit: 0 }) })
    expect((await chat(key, { model: 'test/chat', messages: hi })).status).toBe(402)
  })
})

describe('rate and concurrency limits through the front door', () => {
  it('answers 429 with Retry-After and X-RateLimit headers past requests_per_minute', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const { key } = await createKey({ name: 'rpm', rate_limit: { requests_per_minute: 2 } })
    expect((await chat(key, { model: 'test/chat', messages: hi })).status).toBe(200)
    expect((await chat(key, { model: 'test/chat', messages: hi })).status).toBe(200)
    const refused = await chat(key, { model: 'test/chat', messages: hi })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(refused.headers.get('x-ratelimit-limit')).toBe('2')
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0')
    expect(Number(refused.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now())
    expect(((await refused.json()) as ErrorJson).error.metadata).toMatchObject({ error_type: 'rate_limit_exceeded', limit_type: 'requests_per_minute' })
  })

  it('holds max_concurrency across overlapping streams', async () => {
    const gate = latch()
    const upstream = fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['slow']), { hold: gate.promise }) })
    const { key } = await createKey({ name: 'concurrency', max_concurrency: 2 })
    const ask = { model: 'test/chat', stream: true, messages: hi }
    const first = chat(key, ask)
    const second = chat(key, ask)
    // Both are admitted once both have reached the upstream (which holds them).
    await vi.waitFor(() => expect(upstream.calls).toHaveLength(2))
    const third = await chat(key, ask)
    expect(third.status).toBe(429)
    expect(((await third.json()) as ErrorJson).error.metadata).toMatchObject({ limit_type: 'max_concurrency' })
    gate.release()
    await Promise.all([first, second].map(async (r) => readSse(await r)))
    await vi.waitFor(async () => expect((await chat(key, { model: 'test/chat', messages: hi })).status).not.toBe(429))
  })

  it('lets a key use only its allowed providers and models', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()), [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const { key } = await createKey({ name: 'allow', allowed_providers: ['gamma'] })
    const served = await chat(key, { model: 'test/chat', messages: hi })
    expect(served.headers.get('x-meridian-provider')).toBe('gamma')
    expect(upstream.calls.map((c) => c.url)).toEqual([`${GAMMA}/chat/completions`])
    const { key: claudeOnly } = await createKey({ name: 'allow2', allowed_models: ['test/claude'] })
    const refused = await chat(claudeOnly, { model: 'test/chat', messages: hi })
    expect(refused.status).toBe(403)
  })
})

describe('a message’s name, part of the prompt an upstream bills', () => {
  it('counts in the worst case and against tokens_per_minute, as the same bytes sent as content do', async () => {
    const name = 'x'.repeat(100_000)
    // The upstream bills the name as prompt (OpenAI counts a message's name in prompt_tokens).
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ usage: { prompt_tokens: 25_000, completion_tokens: 1, total_tokens: 25_001 } })) })

    // The worst case: a 100,000-byte name reserves more than no name does.
    const { key: poor } = await createKey({ name: 'named-poor', limit: 0.000000001 })
    const required = async (message: object) => {
      const refused = await chat(poor, { model: 'test/chat', max_tokens: 1, messages: [message] })
      expect(refused.status).toBe(402)
      return ((await refused.json()) as { error: { metadata: { required: number } } }).error.metadata.required
    }
    expect(await required({ role: 'user', content: 'hi', name })).toBeGreaterThan(await required({ role: 'user', content: 'hi' }))

    // tokens_per_minute: requests of 25,000 billed prompt tokens each, against 30,000 a minute: one fits.
    const { key, hash } = await createKey({ name: 'named-tpm', rate_limit: { tokens_per_minute: 30_000 } })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push((await chat(key, { model: 'test/chat', max_tokens: 1, messages: [{ role: 'user', content: 'hi', name }] })).status)
    expect(statuses).toEqual([200, 429, 429, 429, 429])
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1))
    // The name went upstream whole, and the key was charged what the upstream billed for it.
    expect(String((upstream.calls.at(-1)!.body.messages as { name?: string }[])[0]!.name)).toHaveLength(100_000)
    expect((await inspect(hash)).generations[0]).toMatchObject({ tokens_prompt: 25_000, cost_nano: 25_002_000 })
  })
})

describe('an assistant turn sent back with the images it generated (OpenRouter’s message.images)', () => {
  const turns = (png: string) => [
    { role: 'user', content: 'draw a cat' },
    { role: 'assistant', content: 'Here it is.', images: [{ type: 'image_url', image_url: { url: png } }] },
    { role: 'user', content: 'make it blue' },
  ]

  it('counts each as an image, not as its base64 text: neither refused for context nor charged past the limit an image fits', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(anthropicText('blue now', { input_tokens: 30, output_tokens: 3 })) })
    const { key } = await createKey({ name: 'echoed-images', limit: 0.1 })
    // 1 MB of base64 read as text would be 250,000 tokens, past test/claude's window, and $3 of worst case.
    const answer = await chat(key, { model: 'test/claude', max_tokens: 16, messages: turns(`data:image/png;base64,${'A'.repeat(1_000_000)}`) })
    expect(answer.status, await answer.clone().text()).toBe(200)
    // An Anthropic-format upstream receives none of those bytes.
    expect(JSON.stringify(upstream.calls.at(-1)?.body ?? {}).length).toBeLessThan(10_000)
  })
})

describe('the worst case', () => {
  /** What a request could cost, from the 402 of a key with next to no credit. */
  async function required(key: string, body: object): Promise<number> {
    const refused = await chat(key, { model: 'test/chat', messages: hi, ...body })
    expect(refused.status).toBe(402)
    return ((await refused.json()) as ErrorJson).error.metadata.required as number
  }

  it('rests on the larger of max_tokens and max_completion_tokens when both are sent (an upstream may honour either)', async () => {
    const { key } = await createKey({ name: 'both-limits', limit: 0.000001 })
    const large = await required(key, { max_tokens: 300 })
    expect(await required(key, { max_completion_tokens: 5, max_tokens: 300 })).toBe(large)
    expect(await required(key, { max_tokens: 5, max_completion_tokens: 300 })).toBe(large)
    expect(await required(key, { max_completion_tokens: 5 })).toBeLessThan(large)
  })

  it('counts legacy functions and function calls as prompt, as it counts tools and tool calls', async () => {
    const { key } = await createKey({ name: 'functions', limit: 0.000001 })
    const functions = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, description: 'd'.repeat(500), parameters: { type: 'object' } }))
    // At least the definitions' own bytes, as if they were a message's text.
    const asText = await required(key, { max_tokens: 1, messages: [...hi, { role: 'user', content: JSON.stringify(functions) }] })
    expect(await required(key, { max_tokens: 1, functions })).toBeGreaterThan(asText)
    const call = { name: 'f0', arguments: JSON.stringify({ q: 'y'.repeat(5000) }) }
    const called = await required(key, { max_tokens: 1, messages: [...hi, { role: 'assistant', content: null, function_call: call }] })
    // Served as a tool call (formats/openai/functions.ts), it counts at least its own bytes.
    expect(called).toBeGreaterThanOrEqual(await required(key, { max_tokens: 1, messages: [...hi, { role: 'assistant', content: JSON.stringify(call) }] }))
  })
})

describe('settlement', () => {
  it('settles at once a stream its client leaves before the first byte, not at the first-byte timeout', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['late']), { hold: new Promise(() => {}) }) })
    const { key, hash } = await createKey({ name: 'left-early', max_concurrency: 1 })
    // Committed after STREAM_KEEPALIVE_MS: the client gets a keep-alive comment, then leaves.
    const response = await chat(key, { model: 'test/chat', stream: true, messages: hi })
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel()
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1), { timeout: 5_000 })
    const { ledger, generations } = await inspect(hash)
    expect(generations[0]).toMatchObject({ status: 'cancelled', cost_nano: 0, streamed: true })
    expect(ledger).toMatchObject({ reservedNano: 0, inFlight: 0 })
    // The hang-up is no fault of the provider's, and no other provider was asked.
    expect(upstream.calls).toHaveLength(1)
  })

  it('settles a stream the client cancels with an estimate, never zero', async () => {
    fakeUpstreams({ [ALPHA]: () => sseResponse([...openaiStreamEvents(['one ', 'two ']).slice(0, 3)], { stall: true }) })
    const { key, hash } = await createKey({ name: 'cancel' })
    const response = await chat(key, { model: 'test/chat', stream: true, messages: [{ role: 'user', content: 'x'.repeat(400) }] })
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel()
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1), { timeout: 5_000 })
    const { ledger, generations, reservations } = await inspect(hash)
    expect(generations[0]).toMatchObject({ status: 'cancelled', cancelled: true, usage_estimated: true, streamed: true })
    expect(generations[0]!.tokens_prompt).toBe(100)
    expect(generations[0]!.cost_nano).toBeGreaterThan(0)
    expect(ledger).toMatchObject({ totalNano: generations[0]!.cost_nano, reservedNano: 0, inFlight: 0 })
    expect(reservations).toEqual({ settled: 1 })
  })

  const failures: [string, () => Response | Promise<Response>, boolean][] = [
    ['dies mid-stream', () => sseResponse(openaiStreamEvents(['a', 'b', 'c']), { failAfter: 2 }), true],
    ['returns garbage', () => new Response('not json at all', { status: 200 }), false],
    ['answers 500', () => jsonResponse({ error: { message: 'boom' } }, 500), false],
  ]
  it.each(failures)('records and settles a request whose upstream %s', async (_label, handler, stream) => {
    fakeUpstreams({ [ALPHA]: handler, [BETA]: handler, [GAMMA]: handler })
    const { key, hash } = await createKey({ name: 'failure' })
    const response = await chat(key, { model: 'test/chat', stream, messages: hi })
    if (stream) await readSse(response)
    else expect(response.status).toBe(502)
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1))
    const { ledger, generations } = await inspect(hash)
    expect(generations[0]).toMatchObject({ status: 'error', finish_reason: stream ? 'error' : null })
    expect(generations[0]!.error).toBeTruthy()
    expect(generations[0]!.attempts.length).toBeGreaterThan(0)
    expect(ledger).toMatchObject({ reservedNano: 0, inFlight: 0 })
    // Nothing served, nothing charged; a stream that died midway pays for what it produced.
    expect(ledger!.totalNano > 0).toBe(stream)
  })

  it('charges a Claude stream cut short for the thinking it generated, whether the client saw it or had it excluded', async () => {
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } }
    // Thinking, then the connection drops before any text or usage: the stream opens on the thinking either way.
    const thinkingThenReset = () =>
      sseResponse(
        [
          anthropicEvent('message_start', { message }),
          anthropicEvent('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
          ...Array.from({ length: 20 }, () => anthropicEvent('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'x'.repeat(400) } })),
        ],
        { failAfter: 22 },
      )
    const charged: unknown[] = []
    for (const exclude of [false, true]) {
      fakeUpstreams({ [BETA]: thinkingThenReset })
      const { key, hash } = await createKey({ name: `thinking-exclude-${exclude}` })
      await readSse(await chat(key, { model: 'test/claude', stream: true, messages: hi, reasoning: { max_tokens: 3000, exclude } }))
      await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1), { timeout: 5_000 })
      const { generations, ledger } = await inspect(hash)
      expect(generations[0]).toMatchObject({ status: 'error', usage_estimated: true })
      charged.push([generations[0]!.tokens_completion, ledger!.totalNano])
    }
    // 8,000 characters of thinking, four to a token.
    expect(charged[0]).toEqual([2_000, expect.any(Number)])
    expect(charged[1]).toEqual(charged[0])
  })

  it('charges a Claude stream cut short for the text it held back while a JSON answer could still come', async () => {
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } }
    const textThenReset = () =>
      sseResponse(
        [
          anthropicEvent('message_start', { message }),
          anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
          ...Array.from({ length: 20 }, () => anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'x'.repeat(400) } })),
        ],
        { failAfter: 22 },
      )
    fakeUpstreams({ [BETA]: textThenReset })
    const { key, hash } = await createKey({ name: 'held-text-cut' })
    // Client tools, so the JSON tool is not forced and text before it is held.
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }]
    const events = await readSse(await chat(key, { model: 'test/claude', stream: true, messages: hi, tools, response_format: { type: 'json_object' } }))
    expect(JSON.stringify(events)).not.toContain('xxxx')
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1), { timeout: 5_000 })
    const { generations } = await inspect(hash)
    // 8,000 characters generated and never shown, four to a token.
    expect(generations[0]).toMatchObject({ status: 'error', usage_estimated: true, tokens_completion: 2_000 })
  })

  it('is idempotent', async () => {
    const { hash } = await createKey({ name: 'idempotent' })
    const now = Date.now()
    await stub(hash).admit([{ id: 'gen-twice', request: { now, candidates: [{ model: 'm', provider: 'p', worstCaseNano: 5_000 }], promptTokens: 1, maxAttempts: 4 } }])
    const record = { id: 'gen-twice', created_at: now, model_requested: 'm', model: 'm', provider: 'p', provider_name: 'P', streamed: false, cancelled: false, status: 'success' as const, http_status: 200, finish_reason: 'stop', native_finish_reason: 'stop', tokens_prompt: 1, tokens_completion: 1, tokens_cached: 0, tokens_reasoning: 0, usage_estimated: false, cost_nano: 1_234, latency_ms: 5, ttfb_ms: 5, attempts: [], error: null }
    const settlement = { id: 'gen-twice', now, costNano: 1_234, tokens: 2, record: JSON.stringify(record) }
    // Twice in one call (the object settles a call's lot in one statement), then again.
    await stub(hash).settle([settlement, settlement])
    await stub(hash).settle([settlement])
    // Carried by an admission too (a carrier whose answer was lost, sent again by its request).
    await stub(hash).admit([{ id: 'gen-next', request: { now, candidates: [{ model: 'm', provider: 'p', worstCaseNano: 5_000 }], promptTokens: 1, maxAttempts: 4 } }], [settlement])
    expect(await inspect(hash)).toMatchObject({
      ledger: { totalNano: 1_234, reservedNano: 5_000, inFlight: 1 },
      reservations: { settled: 1, open: 1 },
      generations: [record],
    })
  })

  it('applies settlements carried by an admission before judging it', async () => {
    const { hash } = await createKey({ name: 'carried', max_concurrency: 1 })
    const now = Date.now()
    const candidates = [{ model: 'm', provider: 'p', worstCaseNano: 5_000 }]
    const ask = (id: string) => ({ id, request: { now, candidates, promptTokens: 1, maxAttempts: 4 } })
    expect((await stub(hash).admit([ask('gen-1')]))[0]!.ok).toBe(true)
    expect((await stub(hash).admit([ask('gen-2')]))[0]!.ok).toBe(false)
    const record = { id: 'gen-1', created_at: now, model_requested: 'm', model: 'm', provider: 'p', provider_name: 'P', streamed: false, cancelled: false, status: 'success' as const, http_status: 200, finish_reason: 'stop', native_finish_reason: 'stop', tokens_prompt: 1, tokens_completion: 1, tokens_cached: 0, tokens_reasoning: 0, usage_estimated: false, cost_nano: 700, latency_ms: 5, ttfb_ms: 5, attempts: [], error: null }
    const settlement = { id: 'gen-1', now, costNano: 700, tokens: 2, record: JSON.stringify(record) }
    // The finished request's settlement frees its concurrency slot inside the same call.
    expect((await stub(hash).admit([ask('gen-3')], [settlement]))[0]!.ok).toBe(true)
    expect(await inspect(hash)).toMatchObject({ ledger: { totalNano: 700, reservedNano: 5_000, inFlight: 1 }, reservations: { settled: 1, open: 1 } })
  })

  it('decides a batch of admissions in order, each against the ledger the ones before it left', async () => {
    const { hash } = await createKey({ name: 'batch', limit: 12_000 / 1e9, max_concurrency: 3 })
    const now = Date.now()
    const ask = (id: string, worstCaseNano: number) => ({ id, request: { now, candidates: [{ model: 'm', provider: 'p', worstCaseNano }], promptTokens: 1, maxAttempts: 4 } })
    const admissions = await stub(hash).admit([ask('b-1', 5_000), ask('b-2', 5_000), ask('b-3', 5_000), ask('b-4', 2_000), ask('b-5', 1_000)])
    // The third no longer fits the limit; the fourth does; the fifth meets the concurrency cap of 3.
    expect(admissions.map((a) => (a.ok ? 'ok' : a.refusal.status))).toEqual(['ok', 'ok', 402, 'ok', 429])
    expect(await inspect(hash)).toMatchObject({ ledger: { reservedNano: 12_000, inFlight: 3 }, reservations: { open: 3 } })
  })

  it('keeps nothing of a batch that fails halfway: storage and the object memory both roll back', async () => {
    const { hash } = await createKey({ name: 'atomic', max_concurrency: 5 })
    const now = Date.now()
    const ask = (id: string) => ({ id, request: { now, candidates: [{ model: 'm', provider: 'p', worstCaseNano: 1_000 }], promptTokens: 1, maxAttempts: 4 } })
    // The second reservation repeats the first one's id: its insert fails after the first succeeded.
    // Called inside the object, so the failure is caught here rather than reported as uncaught.
    const failure = await runInDurableObject(stub(hash), (instance: KeyDO) => instance.admit([ask('a-1'), ask('a-1')]).then(() => null, (error: Error) => error.message))
    expect(failure).toMatch(/UNIQUE constraint failed/)
    expect(await inspect(hash)).toMatchObject({ reservations: {} })
    expect((await inspect(hash)).ledger?.reservedNano ?? 0).toBe(0)
    const [next] = await stub(hash).admit([ask('a-2')])
    expect(next!.ok).toBe(true)
    expect(await inspect(hash)).toMatchObject({ ledger: { reservedNano: 1_000, inFlight: 1 }, reservations: { open: 1 } })
  })

  it('ignores settlements for a deleted key', async () => {
    const { hash } = await createKey({ name: 'deleted' })
    expect((await adminFetch(`/v1/keys/${hash}`, { method: 'DELETE' })).status).toBe(200)
    const now = Date.now()
    await stub(hash).settle([{ id: 'gen-late', now, costNano: 1, tokens: 1, record: '{}' }])
    expect(await inspect(hash)).toMatchObject({ ledger: undefined, reservations: {}, generations: [] })
  })

  it('expires a reservation whose settlement never arrives, charging it in full; a late settlement corrects it', async () => {
    const { hash } = await createKey({ name: 'abandoned' })
    const now = Date.now()
    const [admitted] = await stub(hash).admit([{ id: 'gen-lost', request: { now, candidates: [{ model: 'm', provider: 'p', worstCaseNano: 9_000 }], promptTokens: 1, maxAttempts: 4 } }])
    expect(admitted!.ok).toBe(true)
    const alarm = await runInDurableObject(stub(hash), (_instance, state) => state.storage.getAlarm())
    expect(alarm).toBe(now + 15 * 60_000)
    // Before the reservation's time is up the sweep leaves it alone; after, it charges it in full.
    await runInDurableObject(stub(hash), (instance) => instance.sweep(now + 14 * 60_000))
    expect((await inspect(hash)).ledger).toMatchObject({ reservedNano: 9_000, inFlight: 1 })
    await runInDurableObject(stub(hash), (instance) => instance.sweep(now + 15 * 60_000))
    expect(await inspect(hash)).toMatchObject({ ledger: { reservedNano: 0, inFlight: 0, totalNano: 9_000 }, reservations: { expired: 1 } })
    const record = { id: 'gen-lost', created_at: now, model_requested: 'm', model: 'm', provider: 'p', provider_name: 'P', streamed: true, cancelled: false, status: 'success' as const, http_status: 200, finish_reason: 'stop', native_finish_reason: 'stop', tokens_prompt: 1, tokens_completion: 1, tokens_cached: 0, tokens_reasoning: 0, usage_estimated: false, cost_nano: 2_000, latency_ms: 5, ttfb_ms: 5, attempts: [], error: null }
    await stub(hash).settle([{ id: 'gen-lost', now: Date.now(), costNano: 2_000, tokens: 2, record: JSON.stringify(record) }])
    expect(await inspect(hash)).toMatchObject({ ledger: { reservedNano: 0, inFlight: 0, totalNano: 2_000 }, reservations: { settled: 1 } })
  })

  it('renews an open reservation a TTL on from the renewal; a settled or expired one, or a deleted key, stays as it was', async () => {
    const { hash } = await createKey({ name: 'renewed' })
    const now = Date.now()
    const ask = (id: string) => ({ id, request: { now, candidates: [{ model: 'm', provider: 'p', worstCaseNano: 4_000 }], promptTokens: 1, maxAttempts: 4 } })
    await stub(hash).admit([ask('r-open'), ask('r-settled'), ask('r-expired')])
    await stub(hash).settle([{ id: 'r-settled', now, costNano: 1_000, tokens: 1, record: null }])
    await runInDurableObject(stub(hash), (_instance, state) => state.storage.sql.exec(`UPDATE reservations SET expires_at = ? WHERE id = 'r-expired'`, now + 60_000))
    await runInDurableObject(stub(hash), (instance) => instance.sweep(now + 60_000))
    const tenMinutes = 10 * 60_000
    await stub(hash).renew(['r-open', 'r-settled', 'r-expired', 'r-unknown'], now + tenMinutes)
    expect(await expiries(hash)).toEqual({ 'r-open': now + tenMinutes + 15 * 60_000, 'r-settled': now + 15 * 60_000, 'r-expired': now + 60_000 })
    // A renewal never brings an expiry forward.
    await stub(hash).renew(['r-open'], now)
    expect((await expiries(hash))['r-open']).toBe(now + tenMinutes + 15 * 60_000)
    // The sweep at the first expiry leaves the renewed one open; at the new one it charges it in full.
    await runInDurableObject(stub(hash), (instance) => instance.sweep(now + 15 * 60_000))
    expect(await inspect(hash)).toMatchObject({ ledger: { reservedNano: 4_000, inFlight: 1 }, reservations: { open: 1, settled: 1, expired: 1 } })
    await runInDurableObject(stub(hash), (instance) => instance.sweep(now + tenMinutes + 15 * 60_000))
    expect(await inspect(hash)).toMatchObject({ ledger: { reservedNano: 0, inFlight: 0 }, reservations: { settled: 1, expired: 2 } })
    expect((await adminFetch(`/v1/keys/${hash}`, { method: 'DELETE' })).status).toBe(200)
    await stub(hash).renew(['r-open'], now)
    expect(await inspect(hash)).toMatchObject({ ledger: undefined, reservations: {} })
  })

  it.each([true, false])('keeps a request that outlives RESERVATION_TTL_MS reserved while it runs, not charged in full and holding its slot (stream: %s)', async (stream) => {
    const gate = latch()
    // A stream generates on as the test pushes its events: a stream renews only while it moves.
    const [first, second, ...rest] = openaiStreamEvents(['one ', 'two '])
    const upstream = pushedStream([first!, second!])
    fakeUpstreams({
      [ALPHA]: async () => {
        if (stream) return new Response(upstream.body, { headers: { 'content-type': 'text/event-stream' } })
        await gate.promise
        return jsonResponse(openaiCompletion())
      },
    })
    const { key, hash } = await createKey({ name: 'long-request', max_concurrency: 1 })
    const ask = { model: 'test/chat', stream, messages: hi }
    const ctx = createExecutionContext()
    const request = new Request(`${BASE}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(ask),
    })
    // The gateway renews every third of its TTL, here 30 ms; the key's object keeps its own 15
    // minutes. A JSON request is renewed as its timeouts outlast 90 ms.
    const answer = Promise.resolve(worker.fetch(request, { ...env, RESERVATION_TTL_MS: '90' }, ctx))
    // A stream is read as it goes, as a client's socket would: a write the client has not taken is no progress.
    const reading = stream ? answer.then(readSse) : null
    await vi.waitFor(async () => expect(Object.values(await expiries(hash))).toHaveLength(1))
    const [admitted] = Object.values(await expiries(hash))
    await vi.waitFor(
      async () => {
        if (stream) upstream.push(second!)
        expect(Object.values(await expiries(hash))[0]).toBeGreaterThan(admitted!)
      },
      { timeout: 5_000 },
    )
    // At the expiry it was admitted with, the sweep leaves it alone: still reserved, still the key's one slot.
    await runInDurableObject(stub(hash), (instance) => instance.sweep(admitted!))
    expect(await inspect(hash)).toMatchObject({ ledger: { inFlight: 1, totalNano: 0 }, reservations: { open: 1 } })
    expect((await chat(key, { ...ask, stream: false })).status).toBe(429)
    gate.release()
    for (const event of rest) upstream.push(event)
    upstream.close()
    const response = await answer
    expect(response.status).toBe(200)
    if (reading) expect((await reading).done).toBe(true)
    else expect(await response.json()).toMatchObject({ object: 'chat.completion' })
    await waitOnExecutionContext(ctx)
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1), { timeout: 5_000 })
    const { ledger, generations, reservations } = await inspect(hash)
    expect(reservations).toEqual({ settled: 1 })
    expect(ledger).toMatchObject({ reservedNano: 0, inFlight: 0, totalNano: generations[0]!.cost_nano })
  })

  it.each([false, true])('keeps a Claude stream reserved while it thinks, shown or not (exclude: %s)', async (exclude) => {
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } }
    const upstream = pushedStream([
      anthropicEvent('message_start', { message }),
      anthropicEvent('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
    ])
    fakeUpstreams({ [BETA]: () => new Response(upstream.body, { headers: { 'content-type': 'text/event-stream' } }) })
    const { key, hash } = await createKey({ name: `thinking-reserved-${exclude}` })
    const ctx = createExecutionContext()
    const request = new Request(`${BASE}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test/claude', stream: true, messages: hi, reasoning: { max_tokens: 3000, exclude } }),
    })
    const reading = Promise.resolve(worker.fetch(request, { ...env, RESERVATION_TTL_MS: '90' }, ctx)).then(readSse)
    await vi.waitFor(async () => expect(Object.values(await expiries(hash))).toHaveLength(1))
    const [admitted] = Object.values(await expiries(hash))
    // Thinking goes on, and nothing of it reaches the client when excluded: the stream still moves.
    await vi.waitFor(
      async () => {
        upstream.push(anthropicEvent('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'x'.repeat(50) } }))
        expect(Object.values(await expiries(hash))[0]).toBeGreaterThan(admitted!)
      },
      { timeout: 5_000 },
    )
    upstream.push(anthropicEvent('content_block_stop', { index: 0 }))
    upstream.push(anthropicEvent('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 40 } }))
    upstream.push(anthropicEvent('message_stop', {}))
    upstream.close()
    expect((await reading).done).toBe(true)
    await waitOnExecutionContext(ctx)
  })

  it('asks no further provider once the client has hung up, and settles the request as cancelled', async () => {
    const gate = latch()
    const upstream = fakeUpstreams({
      [ALPHA]: async () => {
        await gate.promise
        return jsonResponse({ error: { message: 'overloaded' } }, 503)
      },
      [BETA]: () => jsonResponse(openaiCompletion()),
      [GAMMA]: () => jsonResponse(openaiCompletion()),
    })
    const { key, hash } = await createKey({ name: 'left-before-failover' })
    const { ledger, generations, reservations } = await hangUpDuringFirstCall(key, hash, { model: 'test/chat', messages: hi }, upstream, gate)
    expect(upstream.calls.map((call) => call.url)).toEqual([expect.stringContaining(ALPHA)])
    expect(reservations).toEqual({ settled: 1 })
    expect(generations[0]).toMatchObject({ status: 'cancelled', error: 'client disconnected', cost_nano: 0, attempts: [{ outcome: 'upstream_error', status: 503 }] })
    expect(ledger).toMatchObject({ reservedNano: 0, inFlight: 0, totalNano: 0 })
  })

  it('settles a stream whose client hangs up before the first upstream event, rather than leaving it to the alarm', async () => {
    const gate = latch()
    const upstream = fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['one ', 'two ']), { hold: gate.promise }) })
    const { key, hash } = await createKey({ name: 'early-hang-up' })
    const { ledger, generations, reservations } = await hangUpDuringFirstCall(key, hash, { model: 'test/chat', stream: true, messages: hi }, upstream, gate)
    expect(reservations).toEqual({ settled: 1 })
    expect(generations[0]).toMatchObject({ status: 'cancelled', cancelled: true, error: 'client disconnected' })
    expect(ledger).toMatchObject({ reservedNano: 0, inFlight: 0, totalNano: generations[0]!.cost_nano })
  })

  it('prunes generation records past their retention', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const { key, hash } = await createKey({ name: 'retention' })
    await chat(key, { model: 'test/chat', messages: hi })
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1))
    await runInDurableObject(stub(hash), (instance) => instance.sweep(Date.now() + 29 * 86_400_000))
    expect((await inspect(hash)).generations).toHaveLength(1)
    await runInDurableObject(stub(hash), (instance) => instance.sweep(Date.now() + 31 * 86_400_000))
    expect((await inspect(hash)).generations).toHaveLength(0)
  })
})

describe('GET /v1/key, /v1/keys and /v1/generation', () => {
  it('answers GET /key for the admin (management) token as OpenRouter answers a management key', async () => {
    for (const path of ['/v1/key', '/api/v1/auth/key']) {
      const response = await gatewayFetch(path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      expect(response.status).toBe(200)
      const { data } = (await response.json()) as { data: Record<string, unknown> }
      expect(data).toMatchObject({ is_management_key: true, limit: null, limit_remaining: null, usage: 0, rate_limit: { requests: -1, interval: '1m' } })
      expect(JSON.stringify(data)).not.toContain(ADMIN_TOKEN)
    }
    // Inference stays refused to it.
    expect((await chat(ADMIN_TOKEN, { model: 'test/chat', messages: hi })).status).toBe(403)
  })

  it('report usage in OpenRouter shape, and a generation only to the key that made it', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ usage: { prompt_tokens: 1000, completion_tokens: 1000 } })) })
    const { key, hash } = await createKey({ name: 'usage', limit: 1, limit_reset: 'monthly', rate_limit: { requests_per_minute: 60 } })
    const response = await chat(key, { model: 'test/chat', messages: hi })
    const id = response.headers.get('x-generation-id')!
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1))

    const info = (await (await gatewayFetch('/v1/key', { headers: { authorization: `Bearer ${key}` } })).json()) as { data: Record<string, unknown> }
    expect(info.data).toMatchObject({
      limit: 1,
      limit_reset: 'monthly',
      limit_remaining: 0.997,
      usage: 0.003,
      usage_daily: 0.003,
      usage_weekly: 0.003,
      usage_monthly: 0.003,
      rate_limit: { requests: 60, interval: '1m' },
      meridian_rate_limit: { requests_per_minute: 60, tokens_per_minute: null },
      is_management_key: false,
      expires_at: null,
    })
    // OpenRouter's older path answers the same.
    const legacy = (await (await gatewayFetch('/api/v1/auth/key', { headers: { authorization: `Bearer ${key}` } })).json()) as { data: Record<string, unknown> }
    expect(legacy.data).toEqual(info.data)
    const listed = (await (await adminFetch('/v1/keys')).json()) as { data: { hash: string; usage: number }[] }
    expect(listed.data.find((k) => k.hash === hash)?.usage).toBe(0.003)

    const generation = await gatewayFetch(`/v1/generation?id=${id}`, { headers: { authorization: `Bearer ${key}` } })
    expect(generation.status).toBe(200)
    expect(((await generation.json()) as { data: Record<string, unknown> }).data).toMatchObject({
      id,
      model: 'test/chat',
      provider_name: 'Alpha',
      streamed: false,
      cancelled: false,
      finish_reason: 'stop',
      tokens_prompt: 1000,
      tokens_completion: 1000,
      total_cost: 0.003,
      provider_responses: [{ provider: 'alpha', status: 200, outcome: 'success' }],
    })
    const { key: other } = await createKey({ name: 'other' })
    expect((await gatewayFetch(`/v1/generation?id=${id}`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(404)
    expect((await gatewayFetch('/v1/generation', { headers: { authorization: `Bearer ${key}` } })).status).toBe(400)
  })
})

describe('admission leases: tickets for a busy key', () => {
  const busy = async (key: string, count: number) => {
    for (let i = 0; i < count; i++) expect((await chat(key, { model: 'test/chat', messages: hi })).status).toBe(200)
  }

  it('serves a busy key from tickets, and the ledger agrees once the unused ones are given back', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ usage: { prompt_tokens: 18, completion_tokens: 5 } })) })
    const { key, hash } = await createKey({ name: 'hot', limit: 1, rate_limit: { requests_per_minute: 1_000 } })
    await busy(key, 20)
    // The eighth request's call asked for tickets, and the requests after it took them.
    const kinds = await reservationKinds(hash)
    expect(kinds['ticket settled']).toBeGreaterThan(0)
    expect(Object.entries(kinds).filter(([kind]) => kind.startsWith('own')).reduce((n, [, count]) => n + count, 0)).toBeLessThan(20)
    // When the lease ends the rest go back: nothing reserved, and exactly the 20 requests charged.
    await vi.waitFor(async () => expect((await inspect(hash)).reservations).not.toHaveProperty('open'), { timeout: 5_000 })
    const after = await inspect(hash)
    expect(after.generations).toHaveLength(20)
    const charged = after.generations.reduce((sum, g) => sum + (g.cost_nano as number), 0)
    expect(charged).toBeGreaterThan(0)
    expect(after.ledger).toMatchObject({ reservedNano: 0, inFlight: 0, totalNano: charged })
  })

  it('still bites on the next request when a key holding tickets is disabled or deleted', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    for (const change of [{ method: 'PATCH', body: JSON.stringify({ disabled: true }) }, { method: 'DELETE' }]) {
      const { key, hash } = await createKey({ name: `revoked-${change.method}` })
      await busy(key, 10)
      // This isolate holds tickets it has not used yet.
      expect((await reservationKinds(hash))['ticket open']).toBeGreaterThan(0)
      expect((await adminFetch(`/v1/keys/${hash}`, change)).status).toBe(200)
      // The change answered only once those tickets had lapsed, so this request needs the object.
      expect((await chat(key, { model: 'test/chat', messages: hi })).status).toBe(401)
    }
  })

  it('makes a change retried while a deletion waits out its tickets wait too', async () => {
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()) })
    const { key, hash } = await createKey({ name: 'deleted-twice' })
    await busy(key, 10)
    expect((await reservationKinds(hash))['ticket open']).toBeGreaterThan(0)
    const first = adminFetch(`/v1/keys/${hash}`, { method: 'DELETE' })
    // The object has deleted the key and is waiting for its tickets to lapse.
    await vi.waitFor(() => runInDurableObject(stub(hash), (_instance, state) => expect(state.storage.kv.get('record')).toBeUndefined()))
    expect((await adminFetch(`/v1/keys/${hash}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) })).status).toBe(404)
    // The retry answered only once the tickets had lapsed, so this request needs the object.
    expect((await chat(key, { model: 'test/chat', messages: hi })).status).toBe(401)
    expect((await first).status).toBe(200)
  })
})

describe('an upstream that sends megabytes of words', () => {
  it('has its error kept in the record only in part, so the settlement still stores (it failed whole, and the reservation was charged in full)', async () => {
    // Past what SQLite in workerd keeps in one value (8 MiB; Cloudflare's limit is 2 MB).
    const huge = 'x'.repeat(9_000_000)
    fakeUpstreams({ [GAMMA]: () => jsonResponse({ error: { message: huge, code: 400 } }) })
    const { key, hash } = await createKey({ name: 'huge error' })
    const response = await chat(key, { model: 'test/other', messages: hi })
    expect(response.status).toBe(400)
    await response.text()
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1), { timeout: 5_000 })
    const { ledger, reservations, generations } = await inspect(hash)
    expect(generations[0]!.error.length).toBeLessThanOrEqual(4096)
    expect(ledger!.totalNano).toBe(0)
    expect(reservations).toEqual({ settled: 1 })
  })
})

describe('a client that hangs up before the first byte', () => {
  it('leaves the attempt it cut short recorded as cancelled, not as the provider’s connection error', async () => {
    const gate = latch()
    const upstream = fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['one ']), { hold: gate.promise }) })
    const { key, hash } = await createKey({ name: 'hung up early' })
    const client = new AbortController()
    const pending = gatewayFetch('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test/chat', stream: true, messages: hi, provider: { order: ['alpha'] } }),
      signal: client.signal,
    })
    await vi.waitFor(() => expect(upstream.calls).toHaveLength(1))
    client.abort()
    await expect(pending).rejects.toThrow()
    gate.release()
    await vi.waitFor(async () => expect((await inspect(hash)).generations).toHaveLength(1))
    const [record] = (await inspect(hash)).generations
    expect(record).toMatchObject({ status: 'cancelled' })
    expect(record!.attempts).toEqual([expect.objectContaining({ provider: 'alpha', outcome: 'cancelled' })])
  })
})

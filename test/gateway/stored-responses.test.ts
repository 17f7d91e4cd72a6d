import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { Completion } from '../../src/formats/canonical'
import type { ResponseMeta, UsageReport } from '../../src/formats/openai/render'
import { ResponsesRequest } from '../../src/formats/responses/request'
import { responsesRenderer } from '../../src/formats/responses/renderer'
import worker from '../../src/index'
import type { KeyDO } from '../../src/tenancy/key-do'
import { GAMMA } from '../support/catalog'
import { BASE, createKey, gatewayFetch, namedEvents, setUpGateway } from '../support/gateway'
import { data, fakeUpstreams, jsonResponse, latch, openaiCompletion, sseResponse } from '../support/upstream'

const tenant = setUpGateway()
const DAY_MS = 86_400_000

type Json = Record<string, any>

function post(body: object, key = tenant.key): Promise<Response> {
  return gatewayFetch('/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

async function created(body: object, key = tenant.key): Promise<Json> {
  const response = await post({ model: 'test/other', ...body }, key)
  expect(response.status).toBe(200)
  return (await response.json()) as Json
}

const fetchStored = (id: string, method = 'GET', key = tenant.key) => gatewayFetch(`/v1/responses/${id}`, { method, headers: { authorization: `Bearer ${key}` } })

/** Answers each call with the next completion, and records what the upstream was sent. */
function answering(...answers: object[]) {
  let next = 0
  return fakeUpstreams({ [GAMMA]: () => jsonResponse(answers[Math.min(next++, answers.length - 1)]!) })
}

const weatherCall = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }
const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }]

describe('stored responses: previous_response_id', () => {
  it('continues a response with its input and output first, over a chain of three, without its instructions', async () => {
    const upstream = answering(
      openaiCompletion({ content: 'Checking.', finish_reason: 'tool_calls', tool_calls: [weatherCall] }),
      openaiCompletion({ content: '12C in Oslo.' }),
      openaiCompletion({ content: 'You are welcome.' }),
    )
    const first = await created({ instructions: 'Be terse.', input: 'Weather in Oslo?', tools })
    expect(first).toMatchObject({ store: true, previous_response_id: null })
    const second = await created({ previous_response_id: first.id, input: [{ type: 'function_call_output', call_id: 'call_1', output: '12C' }], tools })
    expect(second).toMatchObject({ store: true, previous_response_id: first.id, output: [{ type: 'message', content: [{ text: '12C in Oslo.' }] }] })
    await created({ previous_response_id: second.id, input: 'Thanks!' })

    expect(upstream.calls[0]!.body.messages).toEqual([
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'Weather in Oslo?' },
    ])
    const conversation = [
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [weatherCall] },
      { role: 'tool', tool_call_id: 'call_1', content: '12C' },
    ]
    // Instructions are not carried over, as at OpenAI.
    expect(upstream.calls[1]!.body.messages).toEqual(conversation)
    expect(upstream.calls[2]!.body.messages).toEqual([...conversation, { role: 'assistant', content: '12C in Oslo.' }, { role: 'user', content: 'Thanks!' }])
  })

  it('keeps a streamed response before its last event goes out, and its stored object is that event\'s', async () => {
    const upstream = fakeUpstreams({
      [GAMMA]: (call) =>
        call.body.stream
          ? sseResponse([data({ choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }] }), data({ choices: [{ index: 0, delta: { content: 'lo.' }, finish_reason: 'stop' }] }), data({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 2 } }), 'data: [DONE]\n\n'])
          : jsonResponse(openaiCompletion()),
    })
    const response = await post({ model: 'test/other', input: 'Hi', stream: true })
    const events = namedEvents(await response.text())
    const last = events.at(-1)!
    expect(last).toMatchObject({ type: 'response.completed', response: { store: true, output: [{ content: [{ text: 'Hello.' }] }] } })
    expect(events[0]).toMatchObject({ response: { store: true } })
    const stored = await fetchStored(last.response.id)
    expect(await stored.json()).toEqual(last.response)
    await created({ previous_response_id: last.response.id, input: 'Again?' })
    expect(upstream.calls[1]!.body.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'Again?' },
    ])
  })

  it('measures a long chain by its conversation, not by the instructions each stored object repeats', async () => {
    const upstream = answering(openaiCompletion({ content: 'ok' }))
    const ctx = createExecutionContext()
    const settings = { ...env, MAX_BODY_BYTES: '300000' }
    const send = (body: object) =>
      worker.fetch(
        new Request(`${BASE}/v1/responses`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'test/other', ...body }),
        }),
        settings,
        ctx,
      )
    // About 72 KB sent again with every turn, as agents do: not carried over, so each conversation stays small.
    const instructions = 'Follow the house rules. '.repeat(3000)
    let previous: string | null = null
    for (let turn = 0; turn < 8; turn++) {
      const response = await send({ instructions, input: `turn ${turn}`, ...(previous ? { previous_response_id: previous } : {}) })
      const body = (await response.json()) as Json
      expect({ turn, status: response.status, error: body.error?.message }).toEqual({ turn, status: 200, error: undefined })
      previous = body.id
    }
    expect(upstream.calls.at(-1)!.body.messages).toHaveLength(16)
    await waitOnExecutionContext(ctx)
  })

  it('says which response of the chain is gone when one was deleted', async () => {
    answering(openaiCompletion())
    const first = await created({ input: 'One' })
    const second = await created({ previous_response_id: first.id, input: 'Two' })
    expect((await fetchStored(first.id, 'DELETE')).status).toBe(200)
    const response = await post({ model: 'test/other', previous_response_id: second.id, input: 'Three' })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      error: { param: 'previous_response_id', message: expect.stringContaining(`response '${first.id}', earlier in its conversation, is no longer stored`) },
    })
  })
})

describe('stored responses: item_reference', () => {
  it('replaces references to a stored answer\'s items with the items, as @ai-sdk/openai sends them with store on', async () => {
    const upstream = answering(openaiCompletion({ content: 'Checking.', finish_reason: 'tool_calls', tool_calls: [weatherCall] }), openaiCompletion({ content: 'Sunny.' }))
    const first = await created({ input: 'Weather in Oslo?', tools })
    const [message, call] = first.output as Json[]
    expect([message!.type, call!.type]).toEqual(['message', 'function_call'])
    await created({
      input: [
        { role: 'user', content: 'Weather in Oslo?' },
        { type: 'item_reference', id: message!.id },
        { type: 'item_reference', id: call!.id },
        { type: 'function_call_output', call_id: 'call_1', output: '12C' },
      ],
      tools,
    })
    expect(upstream.calls[1]!.body.messages).toEqual([
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [weatherCall] },
      { role: 'tool', tool_call_id: 'call_1', content: '12C' },
    ])
  })

  it('finds only the key\'s own responses', async () => {
    answering(openaiCompletion())
    const mine = await created({ input: 'Hi' })
    const other = await createKey({ name: 'other' })
    expect((await fetchStored(mine.id, 'GET', other.key)).status).toBe(404)
    const response = await post({ model: 'test/other', input: [{ type: 'item_reference', id: mine.output[0].id }] }, other.key)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: { param: 'input[0]', message: expect.stringContaining(`Item with id '${mine.output[0].id}' not found`) } })
  })
})

describe('stored responses: store off, and the stored objects', () => {
  it('keeps nothing with store: false', async () => {
    answering(openaiCompletion())
    const response = await created({ input: 'Hi', store: false })
    expect(response.store).toBe(false)
    expect((await fetchStored(response.id)).status).toBe(404)
    const next = await post({ model: 'test/other', previous_response_id: response.id, input: 'Again' })
    expect(await next.json()).toMatchObject({ error: { code: 'previous_response_not_found' } })
  })

  it('GET answers the stored response object, found at once; DELETE removes it', async () => {
    answering(openaiCompletion({ content: 'Stored.' }))
    const response = await created({ input: 'Hi', metadata: { team: 'a' } })
    const stored = await fetchStored(response.id)
    expect(stored.status).toBe(200)
    expect(await stored.json()).toEqual(response)
    const deleted = await fetchStored(response.id, 'DELETE')
    expect(await deleted.json()).toEqual({ id: response.id, object: 'response', deleted: true })
    const [again, gone] = [await fetchStored(response.id), await fetchStored(response.id, 'DELETE')]
    expect([again.status, gone.status]).toEqual([404, 404])
    expect(await again.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'not_found', message: `Response with id '${response.id}' not found.` } })
  })

  it("GET input_items lists the response's own input, newest first by default, a page at a time", async () => {
    answering(openaiCompletion({ content: 'First.' }), openaiCompletion({ content: 'Second.' }))
    const first = await created({ input: 'Hi' })
    const input = [
      { role: 'developer', content: 'Be brief.' },
      { type: 'message', id: 'msg_mine', role: 'user', content: [{ type: 'input_text', text: 'And then?' }] },
    ]
    const second = await created({ previous_response_id: first.id, input })
    const list = (id: string, query = '', key = tenant.key) => gatewayFetch(`/v1/responses/${id}/input_items${query}`, { headers: { authorization: `Bearer ${key}` } })
    const page = await list(second.id)
    expect(page.status).toBe(200)
    const made = `msg_${second.id}_in0`
    expect(await page.json()).toEqual({
      object: 'list',
      data: [
        { type: 'message', id: 'msg_mine', status: 'completed', role: 'user', content: [{ type: 'input_text', text: 'And then?' }] },
        { type: 'message', id: made, status: 'completed', role: 'developer', content: [{ type: 'input_text', text: 'Be brief.' }] },
      ],
      first_id: 'msg_mine',
      last_id: made,
      has_more: false,
    })
    const asc = (await (await list(second.id, '?order=asc&limit=1')).json()) as Json
    expect(asc).toMatchObject({ data: [{ id: made }], has_more: true, last_id: made })
    const next = (await (await list(second.id, `?order=asc&limit=1&after=${made}`)).json()) as Json
    expect(next).toMatchObject({ data: [{ id: 'msg_mine' }], has_more: false })
    expect((await (await list(first.id)).json()) as Json).toMatchObject({ data: [{ role: 'user', content: [{ type: 'input_text', text: 'Hi' }] }] })

    const { key: other } = await createKey({ name: 'other' })
    const [foreign, unknown, badLimit, badCursor] = [await list(second.id, '', other), await list('gen-1-nothing'), await list(second.id, '?limit=0'), await list(second.id, '?after=msg_x')]
    expect([foreign.status, unknown.status, badLimit.status, badCursor.status]).toEqual([404, 404, 400, 400])
    expect(await badLimit.json()).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringMatching(/limit/) } })
  })

  it('stores none, and says so when asked to continue one, when RESPONSES_RETENTION_DAYS is 0', async () => {
    const upstream = answering(openaiCompletion())
    const ctx = createExecutionContext()
    const request = (body: object) =>
      worker.fetch(
        new Request(`${BASE}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${tenant.key}` }, body: JSON.stringify({ model: 'test/other', ...body }) }),
        { ...env, RESPONSES_RETENTION_DAYS: '0' },
        ctx,
      )
    const answered = (await (await request({ input: 'Hi' })).json()) as Json
    expect(answered.store).toBe(false)
    expect((await fetchStored(answered.id)).status).toBe(404)
    const refused = await request({ previous_response_id: answered.id, input: 'Again' })
    expect(refused.status).toBe(400)
    expect(await refused.json()).toMatchObject({ error: { message: expect.stringContaining('RESPONSES_RETENTION_DAYS is 0') } })
    await waitOnExecutionContext(ctx)
    expect(upstream.calls).toHaveLength(1)
  })

  it('prunes stored responses past RESPONSES_RETENTION_DAYS, and the oldest past RESPONSES_MAX_STORED and RESPONSES_MAX_BYTES', async () => {
    answering(openaiCompletion())
    const { key, hash } = await createKey({ name: 'responses-retention' })
    // Ids sort by time to the second (and at random within it): the first by id is pruned first.
    const [first, second, third] = [await created({ input: 'Hi' }, key), await created({ input: 'Hi' }, key), await created({ input: 'Hi' }, key)].sort((a, b) =>
      a.id < b.id ? -1 : 1,
    ) as [Json, Json, Json]
    const stub = env.KEYS.get(env.KEYS.idFromName(hash)) as DurableObjectStub<KeyDO>
    const status = async (id: string) => (await fetchStored(id, 'GET', key)).status
    /** Sweeps `days` ahead with these settings (the object's own env, swapped for the sweep). */
    const sweep = (days: number, settings: Record<string, string>) =>
      runInDurableObject(stub, async (instance) => {
        const own: unknown = Reflect.get(instance, 'env')
        Reflect.set(instance, 'env', { ...env, ...settings })
        try {
          await instance.sweep(Date.now() + days * DAY_MS)
        } finally {
          Reflect.set(instance, 'env', own)
        }
      })
    await sweep(0, { RESPONSES_MAX_STORED: '2' })
    expect([await status(first.id), await status(second.id), await status(third.id)]).toEqual([404, 200, 200])
    const [row] = await runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ bytes: number }>('SELECT bytes FROM responses').toArray())
    await sweep(0, { RESPONSES_MAX_BYTES: String(row!.bytes + 1) })
    expect([await status(second.id), await status(third.id)]).toEqual([404, 200])
    // Generation records are kept 30 days by default: only the responses' own setting applies.
    await sweep(6, { RESPONSES_RETENTION_DAYS: '5' })
    expect(await status(third.id)).toBe(404)
  })

  it('answers store: false for a response too large to keep', async () => {
    answering(openaiCompletion({ content: 'x'.repeat(2_000_000) }))
    const response = await created({ input: 'Hi' })
    expect(response.store).toBe(false)
    expect((await fetchStored(response.id)).status).toBe(404)
  })

  it('refuses to replay a stored response as a stream', async () => {
    const response = await gatewayFetch('/v1/responses/gen-1-x?stream=true', { headers: { authorization: `Bearer ${tenant.key}` } })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: { message: expect.stringContaining('not replayed as a stream') } })
  })

  it('refuses an item sent again that the previous response already brings, as OpenAI does', async () => {
    const upstream = answering(openaiCompletion())
    const first = await created({ input: 'Hi' })
    const response = await post({ model: 'test/other', previous_response_id: first.id, input: [...first.output, { role: 'user', content: 'Again' }] })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: { param: 'input[0]', message: expect.stringContaining(`Duplicate item found with id '${first.output[0].id}'`) } })
    expect(upstream.calls).toHaveLength(1)
  })
})

describe('keeping a response before it goes out', () => {
  const meta: ResponseMeta = { id: 'gen-1-abc', created: 1, model: 'test/other', provider: 'Gamma', systemFingerprint: 'fp' }
  const report: UsageReport = { usage: { promptTokens: 4, completionTokens: 2, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, costNano: 8_000 }
  const completion: Completion = { message: { role: 'assistant', content: 'Hello.', refusal: null }, finishReason: 'stop', nativeFinishReason: 'stop', usage: null }
  const request = ResponsesRequest.parse({ model: 'test/other', input: 'Hi' })
  const chatRequest = { model: 'test/other', messages: [{ role: 'user' as const, content: 'Hi' }] }

  /** A keep that answers `kept` once released, and what it was given. */
  function gatedKeep(kept: boolean) {
    const gate = latch()
    const given: object[] = []
    const keep = async (response: { id: string }) => {
      given.push(response)
      await gate.promise
      return kept
    }
    return { keep, given, release: gate.release }
  }

  /** Whether `promise` has settled after the microtasks and timers before now have run. */
  async function settled(promise: Promise<unknown>): Promise<boolean> {
    let done = false
    void promise.then(() => (done = true))
    await new Promise((resolve) => setTimeout(resolve, 0))
    return done
  }

  it('a JSON answer waits until the response is kept, and says store: false when it could not be', async () => {
    const { keep, given, release } = gatedKeep(false)
    const answer = Promise.resolve(responsesRenderer(request, keep).json(meta, completion, report, chatRequest))
    expect(await settled(answer)).toBe(false)
    expect(given).toEqual([expect.objectContaining({ id: 'gen-1-abc', store: true, status: 'completed' })])
    release()
    expect(await answer).toMatchObject({ id: 'gen-1-abc', store: false })
  })

  it("a stream's last event waits until the response is kept", async () => {
    const { keep, given, release } = gatedKeep(true)
    const writer = responsesRenderer(request, keep).stream(meta, chatRequest)
    writer.event({ type: 'delta', delta: { content: 'Hello.' } })
    writer.event({ type: 'finish', finishReason: 'stop', nativeFinishReason: 'stop' })
    const end = Promise.resolve(writer.end(report, {}))
    expect(await settled(end)).toBe(false)
    expect(given).toEqual([expect.objectContaining({ output: [expect.objectContaining({ content: [expect.objectContaining({ text: 'Hello.' })] })] })])
    release()
    const last = namedEvents(new TextDecoder().decode((await end).at(-1)!)).at(-1)
    expect(last).toMatchObject({ type: 'response.completed', response: { store: true } })
  })
})

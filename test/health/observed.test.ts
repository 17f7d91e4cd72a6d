import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { localView } from '../../src/health/local'
import { ALPHA, GAMMA } from '../support/catalog'
import { BASE, chat, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, latch, never, openaiCompletion, openaiStreamEvents, sseResponse } from '../support/upstream'

/** What requests through the gateway tell health, and how routing acts on it (docs/health.md). */

const tenant = setUpGateway()

async function chatWith(settings: Record<string, string>, body: unknown): Promise<Response> {
  const ctx = createExecutionContext()
  const request = new Request(`${BASE}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${tenant.key}` }, body: JSON.stringify(body) })
  const response = await worker.fetch(request, { ...env, ...settings }, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

const HALF_OPEN = { CIRCUIT_OPEN_MS: '1000', TIMEOUT_NON_STREAMING_MS: '300', HEALTH_FLUSH_MS: '1' }
const ALPHA_FIRST = { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], provider: { order: ['alpha', 'gamma'] } }

/** Three requests time out at alpha (a hanging upstream), opening its circuit; CIRCUIT_OPEN_MS later it is half-open. */
async function halfOpenAlpha(): Promise<void> {
  for (let i = 0; i < 3; i++) expect((await chatWith(HALF_OPEN, ALPHA_FIRST)).status).toBe(200)
  expect(localView(env, 'test/chat@alpha', Date.now())?.circuit).toBe('open')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  expect(localView(env, 'test/chat@alpha', Date.now())?.circuit).toBe('half_open')
}

const callsTo = (upstream: { calls: { url: string }[] }, base: string) => upstream.calls.filter((call) => call.url.startsWith(base)).length

describe('a half-open circuit', () => {
  it('lets one probe through, not every request that arrives while it is half-open', async () => {
    const upstream = fakeUpstreams({ [ALPHA]: never, [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'from gamma' })) })
    await halfOpenAlpha()
    const before = callsTo(upstream, ALPHA)
    const answers = await Promise.all(Array.from({ length: 5 }, () => chatWith(HALF_OPEN, ALPHA_FIRST)))
    for (const answer of answers) expect(answer.status).toBe(200)
    expect(callsTo(upstream, ALPHA) - before).toBe(1)
  })
})

describe('a half-open probe whose outcome health does not judge', () => {
  it('ends the probe: the provider answered, so the next request may try it', async () => {
    let alpha: 'hang' | 'refuse' | 'serve' = 'hang'
    const upstream = fakeUpstreams({
      [ALPHA]: () =>
        alpha === 'hang'
          ? never()
          : alpha === 'refuse'
            ? jsonResponse({ error: { message: "Invalid value for 'messages'", type: 'invalid_request_error' } }, 400)
            : jsonResponse(openaiCompletion({ content: 'from alpha' })),
      [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'from gamma' })),
    })
    await halfOpenAlpha()
    alpha = 'refuse'
    expect((await chatWith(HALF_OPEN, ALPHA_FIRST)).status).toBe(400)
    alpha = 'serve'
    const before = callsTo(upstream, ALPHA)
    const next = await chatWith(HALF_OPEN, ALPHA_FIRST)
    expect(next.headers.get('x-meridian-provider')).toBe('alpha')
    expect(callsTo(upstream, ALPHA) - before).toBe(1)
  })
})

describe('a streaming half-open probe', () => {
  it('ends when its stream opens: the provider answered, so the next request may try it while the stream runs on', async () => {
    let alpha: 'hang' | 'serve' = 'hang'
    const longAnswer = latch()
    const upstream = fakeUpstreams({
      [ALPHA]: (call) =>
        alpha === 'hang'
          ? never()
          : call.body.stream
            ? sseResponse(openaiStreamEvents(['one', 'two', 'three']), { pause: { after: 2, until: longAnswer.promise } })
            : jsonResponse(openaiCompletion({ content: 'from alpha' })),
      [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'from gamma' })),
    })
    await halfOpenAlpha()
    alpha = 'serve'
    const ctx = createExecutionContext()
    const streamed = await worker.fetch(
      new Request(`${BASE}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${tenant.key}` }, body: JSON.stringify({ ...ALPHA_FIRST, stream: true }) }),
      { ...env, ...HALF_OPEN },
      ctx,
    )
    expect(streamed.headers.get('x-meridian-provider')).toBe('alpha')
    const before = callsTo(upstream, ALPHA)
    const next = await chatWith(HALF_OPEN, ALPHA_FIRST)
    expect(next.headers.get('x-meridian-provider')).toBe('alpha')
    expect(callsTo(upstream, ALPHA) - before).toBe(1)
    longAnswer.release()
    expect(await streamed.text()).toContain('[DONE]')
    await waitOnExecutionContext(ctx)
  })
})

describe('throughput after a failover', () => {
  it('is measured from the serving attempt’s first byte: a slow failed first attempt does not count against it', async () => {
    fakeUpstreams({
      [ALPHA]: async () => {
        await new Promise((resolve) => setTimeout(resolve, 800))
        return jsonResponse({ error: { message: 'overloaded' } }, 503)
      },
      [GAMMA]: () => sseResponse(openaiStreamEvents(Array.from({ length: 40 }, (_, i) => `t${i} `))),
    })
    const response = await chat(tenant.key, { model: 'test/chat', stream: true, messages: [{ role: 'user', content: 'hi' }], provider: { order: ['alpha', 'gamma'] } })
    expect(response.headers.get('x-meridian-attempts')).toBe('2')
    await response.text()
    await new Promise((resolve) => setTimeout(resolve, 10))
    const gamma = localView(env, 'test/chat@gamma', Date.now())
    // The same stream with no failover measures about 2,000 tokens a second; over the 800 ms of the failed attempt, about 50.
    expect(gamma?.tokensPerSecond).toBeGreaterThan(200)
  })
})

describe('a half-open probe still waiting, while another request streams from the endpoint', () => {
  it('keeps the probe’s mark: the isolate’s next request is not sent to the endpoint as a second probe', async () => {
    let alpha: 'hang' | 'probe' = 'hang'
    const probeAnswer = latch()
    const longStream = latch()
    const upstream = fakeUpstreams({
      [ALPHA]: async (call) => {
        if (alpha === 'hang') return never()
        if (call.body.stream) return sseResponse(openaiStreamEvents(['one', 'two', 'three']), { pause: { after: 2, until: longStream.promise } })
        await probeAnswer.promise
        return jsonResponse(openaiCompletion({ content: 'from alpha' }))
      },
      [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'from gamma' })),
    })
    await halfOpenAlpha()
    alpha = 'probe'
    const nonStreamingToAlpha = () => upstream.calls.filter((call) => call.url.startsWith(ALPHA) && !call.body.stream).length

    // The half-open probe: a slow non-streaming answer (its timeout long enough to wait for it).
    const probe = chatWith({ ...HALF_OPEN, TIMEOUT_NON_STREAMING_MS: '10000' }, ALPHA_FIRST)
    await vi.waitFor(() => expect(nonStreamingToAlpha()).toBe(4))

    // A stream pinned to alpha (provider.only), which opens at once and runs on.
    const ctx = createExecutionContext()
    const streamed = await worker.fetch(
      new Request(`${BASE}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tenant.key}` },
        body: JSON.stringify({ ...ALPHA_FIRST, stream: true, provider: { only: ['alpha'] } }),
      }),
      { ...env, ...HALF_OPEN },
      ctx,
    )
    expect(streamed.headers.get('x-meridian-provider')).toBe('alpha')

    // The probe's outcome is not observed yet, so the next request keeps off alpha.
    const next = await chatWith(HALF_OPEN, ALPHA_FIRST)
    expect(next.headers.get('x-meridian-provider')).toBe('gamma')
    expect(nonStreamingToAlpha()).toBe(4)

    probeAnswer.release()
    longStream.release()
    await probe
    await streamed.text()
    await waitOnExecutionContext(ctx)
  })
})

describe('a half-open probe still waiting, while a request pinned to the endpoint is refused there for its own fault', () => {
  it('keeps the probe’s mark: the isolate’s next request is not sent to the endpoint as a second probe', async () => {
    let alpha: 'hang' | 'probe' = 'hang'
    const probeAnswer = latch()
    const refused = (call: { body: Record<string, unknown> }) => JSON.stringify(call.body.messages).includes('bad request')
    const upstream = fakeUpstreams({
      [ALPHA]: async (call) => {
        if (alpha === 'hang') return never()
        if (refused(call)) return jsonResponse({ error: { message: "Invalid value for 'messages'", type: 'invalid_request_error' } }, 400)
        await probeAnswer.promise
        return jsonResponse(openaiCompletion({ content: 'from alpha' }))
      },
      [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'from gamma' })),
    })
    await halfOpenAlpha()
    alpha = 'probe'
    const probesToAlpha = () => upstream.calls.filter((call) => call.url.startsWith(ALPHA) && !refused(call)).length

    // The half-open probe: a slow answer (its timeout long enough to wait for it).
    const probe = chatWith({ ...HALF_OPEN, TIMEOUT_NON_STREAMING_MS: '10000' }, ALPHA_FIRST)
    await vi.waitFor(() => expect(probesToAlpha()).toBe(4))

    // A request pinned to alpha (provider.only) that alpha refuses as the client's fault (a 400).
    const pinned = await chatWith(HALF_OPEN, { ...ALPHA_FIRST, messages: [{ role: 'user', content: 'bad request' }], provider: { only: ['alpha'] } })
    expect(pinned.status).toBe(400)

    // The probe's outcome is not observed yet, so the next request keeps off alpha.
    const next = await chatWith(HALF_OPEN, ALPHA_FIRST)
    expect(next.headers.get('x-meridian-provider')).toBe('gamma')
    expect(probesToAlpha()).toBe(4)
    probeAnswer.release()
    await probe
  })
})

describe('a half-open probe whose client hangs up before its first attempt', () => {
  it('gives its mark back: the provider was never asked, so the isolate’s next request probes it', async () => {
    let alpha: 'hang' | 'serve' = 'hang'
    const upstream = fakeUpstreams({
      [ALPHA]: () => (alpha === 'hang' ? never() : jsonResponse(openaiCompletion({ content: 'from alpha' }))),
      [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'from gamma' })),
    })
    await halfOpenAlpha()
    alpha = 'serve'
    const before = callsTo(upstream, ALPHA)
    // The probe: its client is gone by the time the attempt loop starts (here, from the outset).
    const client = new AbortController()
    client.abort()
    const ctx = createExecutionContext()
    const request = new Request(`${BASE}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${tenant.key}` }, body: JSON.stringify(ALPHA_FIRST), signal: client.signal })
    expect((await worker.fetch(request, { ...env, ...HALF_OPEN }, ctx)).status).toBe(408)
    await waitOnExecutionContext(ctx)
    expect(callsTo(upstream, ALPHA) - before).toBe(0)
    // Nothing was observed and nobody is probing alpha: the next request is its probe.
    const next = await chatWith(HALF_OPEN, ALPHA_FIRST)
    expect(next.headers.get('x-meridian-provider')).toBe('alpha')
  })
})

describe('a non-streaming half-open probe that fails after its client hung up', () => {
  it('re-opens the circuit: the attempt ran to its end (a hang-up does not cut a JSON answer short), so its failure is the provider’s', async () => {
    let alpha: 'hang' | 'fail' = 'hang'
    const upstream = fakeUpstreams({
      [ALPHA]: async () => {
        if (alpha === 'hang') return never()
        await new Promise((resolve) => setTimeout(resolve, 300))
        return jsonResponse({ error: { message: 'overloaded' } }, 503)
      },
      [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'from gamma' })),
    })
    await halfOpenAlpha()
    alpha = 'fail'
    const before = callsTo(upstream, ALPHA)
    // The probe: its client gives up 100 ms in; alpha answers 503 200 ms later.
    const client = new AbortController()
    const ctx = createExecutionContext()
    const request = new Request(`${BASE}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${tenant.key}` }, body: JSON.stringify(ALPHA_FIRST), signal: client.signal })
    const pending = worker.fetch(request, { ...env, ...HALF_OPEN }, ctx)
    setTimeout(() => client.abort(), 100)
    await Promise.resolve(pending).catch(() => {})
    await waitOnExecutionContext(ctx)
    expect(callsTo(upstream, ALPHA) - before).toBe(1)
    // A failure while half-open re-opens the circuit (docs/health.md): the next request keeps off alpha.
    expect(localView(env, 'test/chat@alpha', Date.now())?.circuit).toBe('open')
    const next = await chatWith(HALF_OPEN, ALPHA_FIRST)
    expect(next.headers.get('x-meridian-provider')).toBe('gamma')
    expect(callsTo(upstream, ALPHA) - before).toBe(1)
  })
})

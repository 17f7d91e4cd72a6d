import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { PRESETS_KV_KEY } from '../../src/routing/preset-store'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { adminFetch, chat, gatewayFetch, setUpGateway, type ErrorJson } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

const tenant = setUpGateway()

const PRESETS = {
  coding: { description: 'Code review', model: 'test/chat', provider: { order: ['alpha'], allow_fallbacks: false }, system: 'You review code.', temperature: 0.2, max_tokens: 300 },
  claude: { model: 'test/claude', system: 'Be terse.' },
}

async function storePresets(document: object = PRESETS): Promise<Response> {
  return adminFetch('/v1/admin/presets', { method: 'PUT', body: JSON.stringify(document) })
}

const ask = [{ role: 'user', content: 'Review this.' }]

describe('presets', () => {
  it('are kept by the operator: the whole document or one by its slug, validated first', async () => {
    expect((await storePresets()).status).toBe(200)
    expect(await (await adminFetch('/v1/admin/presets')).json()).toEqual(PRESETS)

    const typo = await storePresets({ coding: { temprature: 0.2 } })
    expect(typo.status).toBe(400)
    expect(((await typo.json()) as ErrorJson).error.message).toContain('coding')
    expect(await (await adminFetch('/v1/admin/presets')).json()).toEqual(PRESETS)

    const one = await adminFetch('/v1/admin/presets/cheap', { method: 'PUT', body: JSON.stringify({ model: 'test/other' }) })
    expect(await one.json()).toEqual({ ok: true, presets: 3 })
    expect((await adminFetch('/v1/admin/presets/Bad Slug', { method: 'PUT', body: '{}' })).status).toBe(400)
    expect(await (await adminFetch('/v1/admin/presets/coding', { method: 'DELETE' })).json()).toEqual({ ok: true, presets: 2 })
    expect(Object.keys((await (await adminFetch('/v1/admin/presets')).json()) as object).sort()).toEqual(['cheap', 'claude'])

    const tenantTry = await gatewayFetch('/v1/admin/presets', { headers: { authorization: `Bearer ${tenant.key}` } })
    expect(tenantTry.status).toBe(403)
  })

  it('refuse to change one preset while the stored document fails validation, rather than lose the others', async () => {
    await env.KV.put(PRESETS_KV_KEY, JSON.stringify({ coding: { temprature: 1 } }))
    const one = await adminFetch('/v1/admin/presets/cheap', { method: 'PUT', body: JSON.stringify({ model: 'test/other' }) })
    expect(one.status).toBe(500)
    expect(((await one.json()) as ErrorJson).error.message).toContain('PUT /v1/admin/presets')
    expect(await env.KV.get(PRESETS_KV_KEY, 'json')).toEqual({ coding: { temprature: 1 } })
    expect((await storePresets()).status).toBe(200)
  })

  it("serve `@preset/slug` with the preset's model, provider preferences, parameters and system prompt", async () => {
    await storePresets()
    const upstream = fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'Looks fine.' })) })
    const response = await chat(tenant.key, { model: '@preset/coding', messages: ask })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('alpha')
    expect(((await response.json()) as { model: string }).model).toBe('test/chat')
    expect(upstream.calls[0]!.body).toMatchObject({
      model: 'alpha-chat',
      temperature: 0.2,
      max_tokens: 300,
      messages: [{ role: 'system', content: 'You review code.' }, ...ask],
    })
    expect(upstream.calls[0]!.body).not.toHaveProperty('preset')
  })

  it('keep their fallback models when the request sends models: [] (no list of its own)', async () => {
    await storePresets({ ...PRESETS, withfallback: { model: 'test/claude', models: ['test/other'] }, poolonly: { models: ['test/other'] } })
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse({ error: { message: 'down' } }, 500), [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'other' })) })
    for (const model of ['@preset/withfallback', '@preset/poolonly']) {
      const response = await chat(tenant.key, { model, models: [], messages: ask })
      expect(response.status).toBe(200)
      expect(((await response.json()) as { model: string }).model).toBe('test/other')
    }
    expect(upstream.calls.map((call) => call.body.model)).toEqual(['claude-test', 'gamma-other', 'gamma-other'])
  })

  it("serve `model@preset/slug` and the `preset` field with the request's model and own parameters first", async () => {
    await storePresets()
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'ok' })) })
    // The preset's provider order (alpha only, no fallbacks) leaves nothing for test/other: the request's own preferences win.
    const beside = await chat(tenant.key, { model: 'test/other@preset/coding', messages: ask, temperature: 0.7, provider: { order: ['gamma'] } })
    expect(beside.status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({ model: 'gamma-other', temperature: 0.7, max_tokens: 300 })
    const field = await chat(tenant.key, { model: 'test/other', preset: 'coding', messages: ask, provider: { order: ['gamma'] }, max_completion_tokens: 50 })
    expect(field.status).toBe(200)
    expect(upstream.calls[1]!.body).toMatchObject({ model: 'gamma-other', temperature: 0.2, max_completion_tokens: 50 })
    expect(upstream.calls[1]!.body).not.toHaveProperty('max_tokens')
  })

  it('answer a preset not stored with a 404, in the route\'s own error shape', async () => {
    await storePresets()
    fakeUpstreams({})
    const openai = await chat(tenant.key, { model: '@preset/missing', messages: ask })
    expect(openai.status).toBe(404)
    expect(((await openai.json()) as ErrorJson).error.message).toBe('No preset "missing"')
    const anthropic = await gatewayFetch('/v1/messages', {
      method: 'POST',
      headers: { 'x-api-key': tenant.key, 'content-type': 'application/json' },
      body: JSON.stringify({ model: '@preset/missing', max_tokens: 10, messages: ask }),
    })
    expect(anthropic.status).toBe(404)
    expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error', message: 'No preset "missing"' } })
  })

  it('reach Claude Code, which sends only a model name, on /v1/messages and its token count', async () => {
    await storePresets()
    const upstream = fakeUpstreams({
      [BETA]: (call) =>
        call.url.endsWith('/count_tokens')
          ? jsonResponse({ input_tokens: 21 })
          : jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 20, output_tokens: 2 } }),
    })
    const headers = { 'x-api-key': tenant.key, 'content-type': 'application/json' }
    const body = { model: '@preset/claude', max_tokens: 100, system: 'Claude Code here.', messages: ask }
    const answer = await gatewayFetch('/v1/messages', { method: 'POST', headers, body: JSON.stringify(body) })
    expect(answer.status).toBe(200)
    expect(upstream.calls[0]!.body).toMatchObject({
      model: 'claude-test',
      system: [
        { type: 'text', text: 'Be terse.' },
        { type: 'text', text: 'Claude Code here.' },
      ],
    })
    const counted = await gatewayFetch('/v1/messages/count_tokens', { method: 'POST', headers, body: JSON.stringify(body) })
    expect(await counted.json()).toEqual({ input_tokens: 21 })
    expect(upstream.calls[1]!.body).toMatchObject({ model: 'claude-test', system: [{ type: 'text', text: 'Be terse.' }, { type: 'text', text: 'Claude Code here.' }] })
    // The preset field beside a model: that model, the preset's system prompt (its provider order, alpha only, overridden).
    const field = await gatewayFetch('/v1/messages', {
      method: 'POST',
      headers,
      body: JSON.stringify({ ...body, model: 'test/claude', preset: 'coding', provider: { order: ['beta'] } }),
    })
    expect(field.status).toBe(200)
    expect(upstream.calls[2]!.body).toMatchObject({ model: 'claude-test', temperature: 0.2, system: [{ type: 'text', text: 'You review code.' }, { type: 'text', text: 'Claude Code here.' }] })
  })
})

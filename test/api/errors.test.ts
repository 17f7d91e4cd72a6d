import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { BASE, chat, createKey, gatewayFetch, installCatalog, type ErrorJson } from '../support/gateway'

let key: string
beforeAll(async () => {
  await installCatalog()
  key = (await createKey()).key
})

async function errorOf(response: Response): Promise<ErrorJson['error']> {
  expect(response.headers.get('content-type')).toContain('application/json')
  const body = (await response.json()) as ErrorJson
  expect(body.error.code).toBe(response.status)
  return body.error
}

function rawChat(body: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
  return gatewayFetch('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${key}`, ...headers }, body })
}

describe('bad input gets a clear OpenAI-shaped error, never a 500', () => {
  it('400 for a body that is not JSON', async () => {
    const response = await rawChat('{"model": ')
    expect(response.status).toBe(400)
    expect((await errorOf(response)).message).toMatch(/^Invalid JSON body/)
  })

  it('400 for JSON nested deeper than 64 levels, in arrays or objects, however wide', async () => {
    const nested = (depth: number, wrap: (inner: string) => string) => Array.from({ length: depth }).reduce<string>((inner) => wrap(inner), '1')
    // An unknown model: a body that passes the depth check stops at routing, before any upstream.
    const chat = (extra: string) => rawChat(`{"model":"nobody/none","messages":[{"role":"user","content":"hi"}],"user":"u","x":${extra}}`)
    for (const wrap of [(inner: string) => `[${inner}]`, (inner: string) => `{"a":1,"k":${inner},"z":[1,2]}`]) {
      const deep = await chat(nested(64, wrap))
      expect(deep.status).toBe(400)
      expect((await errorOf(deep)).message).toBe('Invalid JSON body: nested deeper than 64 levels')
    }
    // Levels count from the body itself: "x" sits at level 2, so 62 more levels fit.
    const fits = await chat(nested(62, (inner) => `[${inner}]`))
    expect(fits.status).toBe(404)
    expect((await errorOf(fits)).message).not.toMatch(/nested deeper/)
  })

  const violations: [string, object, string][] = [
    ['no messages', { model: 'test/chat' }, 'messages'],
    ['empty messages', { model: 'test/chat', messages: [] }, 'messages'],
    ['an unknown role', { model: 'test/chat', messages: [{ role: 'wizard', content: 'hi' }] }, 'messages[0].role'],
    ['a bad content part', { model: 'test/chat', messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages[0].content[0].text: Invalid input: expected string'],
    ['temperature out of range', { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], temperature: 3 }, 'temperature'],
    ['a non-integer max_tokens', { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1.5 }, 'max_tokens'],
    ['a malformed tool', { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'has space' } }] }, 'tools[0].function.name'],
    ['n above 1', { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], n: 2 }, 'n'],
    // It would name a file in the operator's account at the provider: Meridian stores none.
    ['an uploaded file by id', { model: 'test/chat', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-abc' } }] }] }, 'messages[0].content[0].file.file_id: Meridian stores no files'],
    ['no model', { messages: [{ role: 'user', content: 'hi' }] }, 'model'],
    ['a null model and no models', { model: null, models: null, messages: [{ role: 'user', content: 'hi' }] }, 'model'],
  ]
  it.each(violations)('400 naming the field for %s', async (_label, body, field) => {
    const response = await rawChat(JSON.stringify(body))
    expect(response.status).toBe(400)
    const error = await errorOf(response)
    expect(error.message).toContain(field)
    expect(error.metadata.error_type).toBe('invalid_request')
  })

  const oversized = JSON.stringify({ model: 'test/chat', messages: [{ role: 'user', content: 'x'.repeat(2000) }] })
  const bodies: [string, () => { body: BodyInit; headers: Record<string, string> }][] = [
    ['that declares its length', () => ({ body: oversized, headers: { 'content-length': String(oversized.length) } })],
    ['sent in chunks, with no length', () => ({ body: new Blob([oversized]).stream(), headers: {} })],
  ]
  it.each(bodies)('413 for a body over the configured limit %s', async (_label, make) => {
    const ctx = createExecutionContext()
    const { body, headers } = make()
    const request = new Request(`${BASE}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, ...headers }, body })
    const response = await worker.fetch(request, { ...env, MAX_BODY_BYTES: '1000' }, ctx)
    expect(response.status).toBe(413)
    expect((await errorOf(response)).metadata).toMatchObject({ limit_bytes: 1000 })
  })

  /** Bytes compressed by the runtime's own CompressionStream. */
  const compressed = async (text: string, format: 'gzip' | 'deflate') => new Uint8Array(await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream(format))).arrayBuffer())
  // A body that reaches routing stops there with a 404 naming its model: proof it was read whole.
  const unknownModel = JSON.stringify({ model: 'nobody/zipped', messages: [{ role: 'user', content: 'hi' }] })

  it.each(['gzip', 'deflate'] as const)('reads a %s-encoded body (some HTTP clients compress large ones)', async (format) => {
    const response = await rawChat(await compressed(unknownModel, format), { 'content-encoding': format })
    expect(response.status).toBe(404)
    expect((await errorOf(response)).message).toContain('nobody/zipped')
  })

  it('holds the size limit for the decompressed body, whatever its compressed size', async () => {
    const bomb = await compressed(oversized, 'gzip')
    expect(bomb.byteLength).toBeLessThan(1000)
    const request = new Request(`${BASE}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-encoding': 'gzip', 'content-length': String(bomb.byteLength) }, body: bomb })
    const response = await worker.fetch(request, { ...env, MAX_BODY_BYTES: '1000' }, createExecutionContext())
    expect(response.status).toBe(413)
  })

  it('holds the size limit for the compressed bytes too (a stream of empty members inflates to nothing)', async () => {
    const empty = await compressed('', 'gzip')
    const members = new Uint8Array(empty.byteLength * 100)
    for (let i = 0; i < 100; i++) members.set(empty, i * empty.byteLength)
    expect(members.byteLength).toBeGreaterThan(1000)
    const request = new Request(`${BASE}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-encoding': 'gzip' }, body: members })
    const response = await worker.fetch(request, { ...env, MAX_BODY_BYTES: '1000' }, createExecutionContext())
    expect(response.status).toBe(413)
  })

  it('400 for a body that is not the encoding it claims, and 415 for an encoding it cannot read', async () => {
    const broken = await rawChat(unknownModel, { 'content-encoding': 'gzip' })
    expect(broken.status).toBe(400)
    expect((await errorOf(broken)).message).toBe('Invalid request body: not valid gzip data')
    const brotli = await rawChat(unknownModel, { 'content-encoding': 'br' })
    expect(brotli.status).toBe(415)
    expect((await errorOf(brotli)).message).toMatch(/Unsupported Content-Encoding "br"/)
    // Names of Object.prototype's members are encodings like any other unknown one.
    for (const encoding of ['constructor', '__proto__', 'tostring']) {
      const odd = await rawChat(unknownModel, { 'content-encoding': encoding })
      expect(odd.status).toBe(415)
      expect((await errorOf(odd)).message).toBe(`Unsupported Content-Encoding "${encoding}": send the body uncompressed, gzip or deflate`)
    }
  })

  it('400 for a binary body, quoting no control bytes', async () => {
    const response = await rawChat(await compressed(unknownModel, 'gzip'))
    expect(response.status).toBe(400)
    const { message } = await errorOf(response)
    expect(message).toMatch(/^Invalid JSON body: /)
    expect(message).not.toMatch(/[\u0000-\u0008\u000e-\u001f\u007f-\u009f\ufffd]/)
  })

  it('404 "No endpoints found" for a model not in the catalog', async () => {
    const response = await chat(key, { model: 'nobody/nothing', messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(404)
    const error = await errorOf(response)
    expect(error.message).toMatch(/^No endpoints found for model "nobody\/nothing"/)
    expect(error.metadata).toMatchObject({ requested_models: ['nobody/nothing'] })
  })

  it('a null model is no model: the fallback list is routed, as on /v1/messages', async () => {
    const response = await chat(key, { model: null, models: ['nobody/nothing'], messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(404)
    expect((await errorOf(response)).metadata).toMatchObject({ requested_models: ['nobody/nothing'] })
  })

  it('503 naming the missing secret when no provider of the model is configured', async () => {
    const response = await chat(key, { model: 'test/dark', messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(503)
    expect((await errorOf(response)).metadata).toMatchObject({ missing_secrets: ['DARK_PROVIDER_KEY'] })
  })

  it('503 naming only the models found when a fallback list also holds a name that is no model', async () => {
    const response = await chat(key, { model: 'test/dark', models: ['test/dark', 'nobody/nothing'], messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(503)
    const error = await errorOf(response)
    expect(error.message).toBe('No provider is available for "test/dark": none of its providers has a usable API key configured')
    expect(error.metadata).toMatchObject({ requested_models: ['test/dark', 'nobody/nothing'] })
  })

  it('404 JSON for unknown routes', async () => {
    const response = await gatewayFetch('/v1/nothing-here')
    expect(response.status).toBe(404)
    expect((await errorOf(response)).message).toBe('No route for GET /v1/nothing-here')
  })

  it('a trailing slash names the same route, not a 404', async () => {
    // Routed as chat: the unknown model's 404 comes from routing, not from a missing route.
    const routed = await chat(key, { model: 'nobody/nothing', messages: [{ role: 'user', content: 'hi' }] }, '/api/v1/chat/completions/')
    expect(routed.status).toBe(404)
    expect((await errorOf(routed)).message).toMatch(/^No endpoints found for model "nobody\/nothing"/)
    const listed = await gatewayFetch('/v1/models/')
    expect(listed.status).toBe(200)
    expect(((await listed.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0)
  })
})

describe('every error answer carries a request id, as OpenAI’s and Anthropic’s do', () => {
  it('names one in x-request-id and request-id on refusals before any generation, a new one each time', async () => {
    const broke = (await createKey({ name: 'broke', limit: 0 })).key
    const answers = await Promise.all([
      rawChat('{"model": '),
      gatewayFetch('/v1/chat/completions', { method: 'POST', body: '{}' }),
      chat(broke, { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] }),
      gatewayFetch('/v1/nothing-here'),
      chat(key, { model: 'test/chat', max_tokens: 'many', messages: [{ role: 'user', content: 'hi' }] }, '/v1/messages'),
    ])
    expect(answers.map((answer) => answer.status)).toEqual([400, 401, 402, 404, 400])
    const ids = answers.map((answer) => answer.headers.get('x-request-id'))
    for (const [index, answer] of answers.entries()) {
      expect(ids[index]).toMatch(/^req-[A-Za-z0-9]{20}$/)
      expect(answer.headers.get('request-id')).toBe(ids[index])
    }
    expect(new Set(ids).size).toBe(ids.length)
  })
})

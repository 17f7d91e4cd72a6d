import { describe, expect, it } from 'vitest'
import { ALPHA } from '../support/catalog'
import { chat, gatewayFetch, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion, openaiStreamEvents, sseResponse } from '../support/upstream'

const gateway = setUpGateway()
const EXPOSED = 'x-generation-id,x-request-id,request-id,x-meridian-provider,x-meridian-attempts,retry-after,x-ratelimit-limit,x-ratelimit-remaining,x-ratelimit-reset'

describe('CORS: browsers may call the API and read its routing headers', () => {
  it('answers a preflight with what the browser asked to send', async () => {
    for (const base of ['/v1', '/api/v1']) {
      const response = await gatewayFetch(`${base}/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      })
      expect(response.status).toBe(204)
      expect(response.headers.get('access-control-allow-origin')).toBe('*')
      expect(response.headers.get('access-control-allow-methods')).toContain('POST')
      expect(response.headers.get('access-control-allow-headers')).toBe('authorization, content-type')
      expect(response.headers.get('vary')).toBe('access-control-request-headers')
      expect(Number(response.headers.get('access-control-max-age'))).toBeGreaterThan(0)
      expect(await response.text()).toBe('')
    }
  })

  it('marks answers, errors and streams alike, keeping their own headers', async () => {
    fakeUpstreams({ [ALPHA]: (call) => ((call.body as { stream?: boolean }).stream ? sseResponse(openaiStreamEvents(['Hel', 'lo'])) : jsonResponse(openaiCompletion())) })
    const served = await chat(gateway.key, { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] })
    const refused = await gatewayFetch('/v1/chat/completions', { method: 'POST', body: '{}' })
    const streamed = await chat(gateway.key, { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }], stream: true })
    const missing = await gatewayFetch('/api/v1/nothing-here')
    expect([served.status, refused.status, streamed.status, missing.status]).toEqual([200, 401, 200, 404])
    for (const response of [served, refused, streamed, missing]) {
      expect(response.headers.get('access-control-allow-origin')).toBe('*')
      expect(response.headers.get('access-control-expose-headers')).toBe(EXPOSED)
      await response.arrayBuffer()
    }
    expect(served.headers.get('x-generation-id')).toMatch(/^gen-/)
    expect(served.headers.get('content-type')).toContain('application/json')
    expect(streamed.headers.get('content-type')).toContain('text/event-stream')
  })

  it('leaves the unversioned health check alone', async () => {
    const response = await gatewayFetch('/health')
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })
})

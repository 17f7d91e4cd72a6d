import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { HEALTH_KV_KEY, healthObject } from '../../src/health/health-do'
import { ALPHA, BETA } from '../support/catalog'
import { chat, forgetServedHealth, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'
import { observation } from './support'

const tenant = setUpGateway()

describe('forgetServedHealth (the test harness’s clean slate)', () => {
  it('leaves nothing an earlier test published to steer the next test’s route', async () => {
    const now = Date.now()
    // Alpha failed often enough to open its circuit, and Beta answered fast; the HealthDO published both.
    await healthObject(env).report([
      ...Array.from({ length: 5 }, (_, i) => observation('server_error', now - 10 + i)),
      observation('success', now, { endpoint: 'test/chat@beta', ttfbMs: 5 }),
    ])
    await healthObject(env).publish(now)
    expect(await env.KV.get(HEALTH_KV_KEY)).toContain('test/chat@alpha')

    await forgetServedHealth()

    expect(await env.KV.get(HEALTH_KV_KEY)).toBeNull()
    expect((await healthObject(env).stats()).endpoints).toEqual({})
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion()), [BETA]: () => jsonResponse(openaiCompletion()) })
    const response = await chat(tenant.key, { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-meridian-provider')).toBe('alpha')
  })
})

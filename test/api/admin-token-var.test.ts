import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { ALPHA, BETA, GAMMA } from '../support/catalog'
import { setUpGateway, type ErrorJson } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * ADMIN_TOKEN written as a number in `[vars]` (`ADMIN_TOKEN = 20261122`: TOML makes it a number,
 * not a string) is a bad setting of the admin API. It must not take inference down with it: every
 * tenant request reads ADMIN_TOKEN (api/auth.ts requireTenant → adminTokenOf → `.trim()`).
 */

const tenant = setUpGateway()
afterEach(() => vi.restoreAllMocks())

async function send(path: string, token: string, settings: Record<string, unknown>, body?: object): Promise<Response> {
  const request = new Request(`http://gateway.test${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  return worker.fetch(request, { ...env, ...settings } as typeof env, createExecutionContext())
}

describe('ADMIN_TOKEN set to a non-string variable', () => {
  it('still serves tenant keys', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'ok' })), [BETA]: () => jsonResponse({}), [GAMMA]: () => jsonResponse(openaiCompletion({ content: 'ok' })) })
    const response = await send('/v1/chat/completions', tenant.key, { ADMIN_TOKEN: 20261122 }, { model: 'test/chat', messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status, await response.clone().text()).toBe(200)
  })

  it('gives the admin API a clear answer, not a masked 500', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const response = await send('/v1/keys', '20261122', { ADMIN_TOKEN: 20261122 })
    const { error } = ((await response.json()) as Partial<ErrorJson>) ?? {}
    expect(error?.message).not.toBe('Internal gateway error')
  })
})

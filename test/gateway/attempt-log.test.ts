import { afterEach, describe, expect, it, vi } from 'vitest'
import { ALPHA } from '../support/catalog'
import { chat, forgetServedHealth, generationOf, readSse, setUpGateway } from '../support/gateway'
import { fakeUpstreams, openaiStreamEvents, sseResponse } from '../support/upstream'

/** A generation's attempt log says what each provider did: no success for a stream it dropped, no failure for a client's hang-up. */

const tenant = setUpGateway()
afterEach(() => forgetServedHealth())

const hi = [{ role: 'user', content: 'hi' }]
type Attempts = { status: string; provider_responses: Array<{ provider: string; outcome: string }> }

async function recordOf(id: string): Promise<Attempts> {
  await vi.waitFor(async () => expect(await generationOf(tenant.key, id)).toBeDefined())
  return (await generationOf(tenant.key, id)) as unknown as Attempts
}

describe('the attempt log of a generation record', () => {
  it('does not call an attempt whose stream the upstream dropped midway a success', async () => {
    fakeUpstreams({ [ALPHA]: () => sseResponse(openaiStreamEvents(['one ', 'two ', 'three '], { usage: null }), { failAfter: 3 }) })
    const response = await chat(tenant.key, { model: 'test/chat', stream: true, messages: hi, provider: { order: ['alpha'] } })
    await readSse(response)
    const record = await recordOf(response.headers.get('x-generation-id')!)
    expect(record.status).toBe('error')
    expect(record.provider_responses).toEqual([expect.objectContaining({ provider: 'alpha', outcome: 'upstream_error' })])
  })
})

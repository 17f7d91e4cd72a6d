import { describe, expect, it } from 'vitest'
import { GAMMA } from '../support/catalog'
import { chat, setUpGateway, type ErrorJson } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * OpenRouter plugins: the ones Meridian serves are taken, any other enabled one is a 400 naming
 * it — never dropped, which would leave a client that asked for web search or moderation with an
 * answer that had neither, and no sign of it.
 */

const tenant = setUpGateway()
const messages = [{ role: 'user', content: 'What happened in the news today?' }]

async function refusal(response: Response): Promise<string> {
  expect(response.status).toBe(400)
  return ((await response.json()) as ErrorJson).error.message
}

describe('plugins', () => {
  it.each(['web', 'moderation', 'web-fetch', 'fusion'])('refuses %s on chat completions, naming it, and calls no provider', async (id) => {
    const upstream = fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const message = await refusal(await chat(tenant.key, { model: 'test/other', messages, plugins: [{ id }] }))
    expect(message).toContain(`plugin "${id}" is not supported`)
    expect(upstream.calls).toHaveLength(0)
  })

  it('refuses web search on /v1/messages and /v1/responses as on chat completions', async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion()) })
    const messagesRoute = await chat(tenant.key, { model: 'test/other', max_tokens: 100, messages, plugins: [{ id: 'web' }] }, '/v1/messages')
    expect(messagesRoute.status).toBe(400)
    expect(JSON.stringify(await messagesRoute.json())).toContain('plugin \\"web\\" is not supported')
    const responsesRoute = await chat(tenant.key, { model: 'test/other', input: 'news?', plugins: [{ id: 'web' }] }, '/v1/responses')
    expect(responsesRoute.status).toBe(400)
    expect(JSON.stringify(await responsesRoute.json())).toContain('plugin \\"web\\" is not supported')
  })

  it('takes a disabled plugin, the served ones, file-parser with any engine (documents go as they are) and response-healing, which clients send by default', async () => {
    for (const plugins of [
      [{ id: 'web', enabled: false }],
      [{ id: 'context-compression', enabled: false }],
      [{ id: 'file-parser', pdf: { engine: 'native' } }],
      [{ id: 'file-parser' }],
      [{ id: 'file-parser', pdf: { engine: 'mistral-ocr' } }, { id: 'response-healing' }],
    ]) {
      fakeUpstreams({ [GAMMA]: () => jsonResponse(openaiCompletion()) })
      const response = await chat(tenant.key, { model: 'test/other', messages, plugins })
      expect(response.status, JSON.stringify(plugins)).toBe(200)
    }
  })

})

import { describe, expect, it } from 'vitest'
import { chat, type ErrorJson, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse } from '../support/upstream'
import { BEDROCK, bedrockModel, withBedrock } from '../fixtures/bedrock/catalog'
import { eventStreamResponse, exception } from '../fixtures/bedrock/frames'

/**
 * A prompt past the window, as Nova and Titan on Converse say it, is a context-length refusal: it
 * moves on to a larger window, else reaches the client as context_length_exceeded ("prompt is too
 * long" on /v1/messages, which Claude Code compacts on).
 */

const tenant = setUpGateway(
  withBedrock(bedrockModel('test/nova', 'amazon.nova-pro-v1:0', ['max_tokens', 'temperature']), bedrockModel('test/titan', 'amazon.titan-text-premier-v1:0', ['max_tokens', 'temperature'])),
)

const validation = (message: string) => () =>
  jsonResponse({ message }, 400, { 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' })

// As the live Converse API words them (public reports of Nova's and Titan's refusals).
const NOVA = 'The model returned the following errors: Input Tokens Exceeded: Number of input tokens exceeds maximum length. Please update the input to try again.'
const TITAN = 'Too many input tokens. Max input tokens: 8192, request input token count: 9000'

describe('a prompt past the window, in Nova’s and Titan’s words', () => {
  it.each([
    ['test/nova', NOVA],
    ['test/titan', TITAN],
  ])('%s: is answered as context_length_exceeded', async (model, message) => {
    fakeUpstreams({ [BEDROCK]: validation(message) })
    const response = await chat(tenant.key, { model, messages: [{ role: 'user', content: 'a long prompt' }] })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.metadata).toMatchObject({ error_type: 'context_length_exceeded' })
  })

  it('streamed, in a validationException frame of a 200 stream', async () => {
    fakeUpstreams({ [BEDROCK]: () => eventStreamResponse([exception('validationException', NOVA)]) })
    const response = await chat(tenant.key, { model: 'test/nova', stream: true, messages: [{ role: 'user', content: 'a long prompt' }] })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.metadata).toMatchObject({ error_type: 'context_length_exceeded' })
  })

  it('on /v1/messages says "prompt is too long", which Claude Code compacts on', async () => {
    fakeUpstreams({ [BEDROCK]: validation(NOVA) })
    const response = await chat(tenant.key, { model: 'test/nova', max_tokens: 100, messages: [{ role: 'user', content: 'a long prompt' }] }, '/v1/messages')
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/prompt is too long/)
  })
})

import { describe, expect, it } from 'vitest'
import { BEDROCK, bedrockModel, withBedrock } from '../fixtures/bedrock/catalog'
import converseText from '../fixtures/bedrock/converse-text.json'
import { GEMINI, geminiModel, withGemini } from '../fixtures/gemini/catalog'
import textWithThoughts from '../fixtures/gemini/text-with-thoughts.json'
import { BETA, GAMMA } from '../support/catalog'
import { chat, type ErrorJson, setUpGateway } from '../support/gateway'
import { anthropicText, fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/** Ingress of POST /v1/chat/completions against OpenAI's and OpenRouter's contract, through every upstream format. */

const catalog = withGemini(
  withBedrock(bedrockModel('test/bedrock', 'anthropic.claude-test-v1:0', ['temperature', 'tools', 'tool_choice', 'max_tokens', 'stop'])),
  geminiModel('gemini-test', ['temperature', 'max_tokens', 'stop']),
)

const tenant = setUpGateway(catalog)

const upstreams = () =>
  fakeUpstreams({
    [GAMMA]: () => jsonResponse(openaiCompletion()),
    [BETA]: () => jsonResponse(anthropicText('Hello')),
    [GEMINI]: () => jsonResponse(textWithThoughts),
    [BEDROCK]: () => jsonResponse(converseText),
  })

/** Every text the upstream body carries, in order, whatever its format. */
const textsIn = (body: unknown): string[] => JSON.stringify(body).match(/"text":"[^"]*"/g) ?? []

describe('an earlier assistant refusal (OpenAI gives `content: null, refusal: "…"`; clients send the message back as it came)', () => {
  // ChatCompletionAssistantMessageParam.refusal: "The refusal message by the assistant."
  const messages = [
    { role: 'user', content: 'Write malware' },
    { role: 'assistant', content: null, refusal: 'I can’t help with that.' },
    { role: 'user', content: 'Then explain what malware is' },
  ]

  it.each(['test/claude', 'test/gemini', 'test/bedrock'])('reaches %s as the assistant turn it was, not dropped', async (model) => {
    const upstream = upstreams()
    const response = await chat(tenant.key, { model, messages })
    expect(response.status).toBe(200)
    // The refusal part form (`content: [{type: "refusal", refusal}]`) is carried as the turn's text; the field must be too.
    expect(textsIn(upstream.calls[0]!.body).join(' ')).toContain('I can’t help with that.')
  })
})

describe('a message `name` on Bedrock', () => {
  // OpenRouter (reference/openrouter-api.md §1.3 "Other behaviours"): "for non-OpenAI models it is
  // prepended as `{name}: {content}`" — as the Anthropic and Gemini adapters do.
  it('is prepended to the turn, as on Anthropic and Gemini', async () => {
    const upstream = upstreams()
    const messages = [
      { role: 'user', content: 'I vote yes', name: 'alice' },
      { role: 'user', content: 'I vote no', name: 'bob' },
    ]
    for (const model of ['test/claude', 'test/gemini', 'test/bedrock']) {
      expect((await chat(tenant.key, { model, messages })).status).toBe(200)
    }
    const [anthropic, gemini, bedrock] = upstream.calls.map((call) => textsIn(call.body).join(' '))
    expect(anthropic).toContain('alice: I vote yes')
    expect(gemini).toContain('alice: I vote yes')
    expect(bedrock).toContain('alice: I vote yes')
  })
})

describe('provider.require_parameters with a parameter Meridian never sends upstream', () => {
  // WIRE.md: "a model ignores parameters its provider does not support unless
  // `provider.require_parameters` is set"; `web_search_options` is one of OpenRouter's
  // supported_parameters. Meridian strips it for every provider (GATEWAY_FIELDS), so no endpoint can
  // honour it: the request must be refused as `logprobs` is for Claude, not answered without a search.
  it.each(['test/other', 'test/claude'])('is refused for %s with a 404 naming the require_parameters filter', async (model) => {
    const upstream = upstreams()
    const response = await chat(tenant.key, {
      model,
      messages: [{ role: 'user', content: 'What happened in the news today?' }],
      web_search_options: { search_context_size: 'high' },
      provider: { require_parameters: true },
    })
    expect(upstream.calls).toHaveLength(0)
    expect(response.status).toBe(404)
    const body = (await response.json()) as ErrorJson
    expect(body.error.message).toContain('No endpoints found that can handle the requested parameters')
  })
})

describe('an upstream 413', () => {
  // The gateway's own 413 says error_type "payload_too_large" (OpenRouter's ApiErrorType has it);
  // the same status relayed from a provider says "invalid_request".
  it('keeps error_type payload_too_large, as the gateway’s own 413 does', async () => {
    fakeUpstreams({ [GAMMA]: () => jsonResponse({ error: { message: 'Request entity too large', type: 'invalid_request_error' } }, 413) })
    const response = await chat(tenant.key, { model: 'test/other', messages: [{ role: 'user', content: 'hi' }] })
    expect(response.status).toBe(413)
    expect(((await response.json()) as ErrorJson).error.metadata.error_type).toBe('payload_too_large')
  })
})

describe('a refusal from an upstream that reports no usage', () => {
  // The gateway estimates usage from the characters it relayed (content, reasoning, tool arguments);
  // a refusal's text is output too and must be counted, as content is.
  const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
  const refusal = 'I’m sorry, but I can’t help with that request.'

  it('is counted in the estimated completion tokens (stream and JSON)', async () => {
    fakeUpstreams({
      [GAMMA]: (call) => {
        if (!call.body.stream) return jsonResponse({ ...openaiCompletion({ content: null }), choices: [{ index: 0, message: { role: 'assistant', content: null, refusal }, finish_reason: 'stop' }], usage: undefined })
        return new Response([chunk({ role: 'assistant', content: null }), chunk({ refusal }), chunk({}, 'stop'), 'data: [DONE]\n\n'].join(''), { headers: { 'content-type': 'text/event-stream' } })
      },
    })
    const asked = { model: 'test/other', messages: [{ role: 'user', content: 'hi' }] }
    const json = (await (await chat(tenant.key, asked)).json()) as { usage: { completion_tokens: number } }
    expect(json.usage.completion_tokens).toBeGreaterThan(0)
    const streamed = await (await chat(tenant.key, { ...asked, stream: true })).text()
    const usage = JSON.parse(streamed.split('\n\n').filter((line) => line.includes('"usage"')).at(-1)!.slice(6)) as { usage: { completion_tokens: number } }
    expect(usage.usage.completion_tokens).toBeGreaterThan(0)
  })
})

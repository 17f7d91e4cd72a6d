import { createOpenAI } from '@ai-sdk/openai'
import { streamText, type ToolSet } from 'ai'
import { describe, expect, it } from 'vitest'
import { GAMMA } from '../support/catalog'
import { gatewayFetch, setUpGateway } from '../support/gateway'
import { data, fakeUpstreams, sseResponse } from '../support/upstream'

/**
 * @ai-sdk/openai's default provider speaks the Responses API and checks each stream event against
 * its schema: an event it models but finds malformed ends the stream in an error.
 */

const tenant = setUpGateway()

const provider = () =>
  createOpenAI({
    baseURL: 'https://gateway.test/v1',
    apiKey: tenant.key,
    fetch: (url, init) => gatewayFetch(new URL(String(url)).pathname, init as RequestInit),
  })

const chunk = (delta: object, finish: string | null = null) => data({ choices: [{ index: 0, delta, finish_reason: finish }] })

describe('@ai-sdk/openai (Responses) through the gateway', () => {
  it('gets the custom tool call of a streamed answer (its items carry a status)', async () => {
    const patch = '*** Begin Patch\n*** End Patch'
    fakeUpstreams({
      [GAMMA]: () =>
        sseResponse([
          chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_p', type: 'function', function: { name: 'apply_patch', arguments: JSON.stringify({ input: patch }) } }] }),
          chunk({}, 'tool_calls'),
          'data: [DONE]\n\n',
        ]),
    })
    const openai = provider()
    const result = streamText({
      model: openai('test/other'),
      prompt: 'Patch it',
      // The SDK's own types do not yet admit its custom tool in a ToolSet (ai 6.0.326).
      tools: { apply_patch: openai.tools.customTool({ name: 'apply_patch', description: 'Edit files' }) } as ToolSet,
      maxRetries: 0,
    })
    const errors: string[] = []
    const calls: unknown[] = []
    for await (const part of result.fullStream) {
      if (part.type === 'error') errors.push(String(part.error).slice(0, 600))
      if (part.type === 'tool-call') calls.push({ name: part.toolName, input: part.input })
    }
    expect(errors).toEqual([])
    expect(calls).toEqual([{ name: 'apply_patch', input: patch }])
  })
})

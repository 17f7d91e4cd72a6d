/// <reference types="node" />
import { type AIMessage, type AIMessageChunk, HumanMessage, ToolMessage } from '@langchain/core/messages'
import { tool } from '@langchain/core/tools'
import { ChatOpenAI } from '@langchain/openai'
import { beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ANTHROPIC_FORMAT_PROVIDER, MODEL, UNKNOWN_KEY, useMeridian } from './support/meridian'

/**
 * LangChain's `ChatOpenAI` (`@langchain/openai` 1.5) against the gateway, changing nothing but
 * `configuration.baseURL` and the key. It sends `"stream": false` explicitly and, when streaming,
 * asks for usage with `stream_options.include_usage`.
 */

const meridian = useMeridian()
let chat: ChatOpenAI

const weather = tool(async ({ city }) => `sunny in ${city}`, {
  name: 'get_weather',
  description: 'Current weather of a city',
  schema: z.object({ city: z.string(), days: z.number().int() }),
})

/** The raw OpenAI usage, `cost` included, that ChatOpenAI keeps in `response_metadata.usage`. */
const rawUsage = (message: AIMessage | AIMessageChunk) => message.response_metadata.usage as { cost?: number; completion_tokens?: number } | undefined

function chatModel(fields: { apiKey?: string; modelKwargs?: Record<string, unknown> } = {}): ChatOpenAI {
  return new ChatOpenAI({
    model: MODEL,
    apiKey: fields.apiKey ?? meridian().key,
    configuration: { baseURL: `${meridian().url}/v1` },
    maxRetries: 0,
    ...(fields.modelKwargs ? { modelKwargs: fields.modelKwargs } : {}),
  })
}

beforeAll(() => {
  chat = chatModel()
})

describe('LangChain ChatOpenAI, unchanged', () => {
  it('invokes', async () => {
    const message = await chat.invoke('Say hello')
    expect(message.content).toContain('Say hello')
    expect(message.response_metadata.finish_reason).toBe('stop')
    expect(message.response_metadata.model_name).toBe(MODEL)
    expect(message.usage_metadata!.input_tokens).toBeGreaterThan(0)
    expect(message.usage_metadata!.output_tokens).toBeGreaterThan(0)
    expect(rawUsage(message)!.cost).toBeGreaterThan(0)
  })

  it('streams in pieces, with usage at the end', async () => {
    const pieces: string[] = []
    let final: AIMessageChunk | undefined
    for await (const chunk of await chat.stream('Stream please')) {
      if (typeof chunk.content === 'string' && chunk.content) pieces.push(chunk.content)
      final = final ? final.concat(chunk) : chunk
    }
    expect(pieces.length).toBeGreaterThan(5)
    expect(pieces.join('')).toContain('Stream please')
    expect(final!.content).toBe(pieces.join(''))
    expect(final!.usage_metadata!.output_tokens).toBeGreaterThan(0)
    expect(final!.usage_metadata!.input_tokens).toBeGreaterThan(0)
    expect(final!.response_metadata.finish_reason).toBe('stop')
    expect(rawUsage(final!)?.cost).toBeGreaterThan(0)
  })

  it('calls a bound tool, and takes its result back', async () => {
    const withTools = chat.bindTools([weather])
    const question = new HumanMessage('Weather in Paris?')
    const message = await withTools.invoke([question])
    expect(message.tool_calls).toHaveLength(1)
    const call = message.tool_calls![0]!
    expect(call.name).toBe('get_weather')
    expect(call.args).toEqual({ city: 'demo', days: 1 })
    expect(message.response_metadata.finish_reason).toBe('tool_calls')

    const result = await weather.invoke(call)
    expect(result).toBeInstanceOf(ToolMessage)
    const answer = await withTools.invoke([question, message, result])
    expect(answer.content).toContain('sunny in demo')
  })

  it('streams a tool call from the Anthropic-format provider (provider.order via modelKwargs)', async () => {
    const routed = chatModel({ modelKwargs: { provider: { order: [ANTHROPIC_FORMAT_PROVIDER], allow_fallbacks: false } } }).bindTools([weather])
    let final: AIMessageChunk | undefined
    let chunks = 0
    for await (const chunk of await routed.stream('Weather in Berlin?')) {
      chunks++
      final = final ? final.concat(chunk) : chunk
    }
    expect(chunks).toBeGreaterThan(1)
    expect(final!.tool_calls).toHaveLength(1)
    expect(final!.tool_calls![0]!.name).toBe('get_weather')
    expect(final!.tool_calls![0]!.args).toEqual({ city: 'demo', days: 1 })
  })

  it('surfaces gateway errors as the OpenAI SDK’s errors, tagged by LangChain', async () => {
    const unknown = await new ChatOpenAI({ model: 'nobody/nothing', apiKey: meridian().key, configuration: { baseURL: `${meridian().url}/v1` }, maxRetries: 0 })
      .invoke('hi')
      .catch((e: unknown) => e)
    expect(unknown).toBeInstanceOf(Error)
    expect(unknown).toMatchObject({ status: 404, lc_error_code: 'MODEL_NOT_FOUND' })
    expect((unknown as Error).message).toContain('No endpoints found')

    const unauthorized = await chatModel({ apiKey: UNKNOWN_KEY }).invoke('hi').catch((e: unknown) => e)
    expect(unauthorized).toMatchObject({ status: 401, lc_error_code: 'MODEL_AUTHENTICATION' })

    const streamed = await (async () => {
      for await (const chunk of await chatModel({ apiKey: UNKNOWN_KEY }).stream('hi')) void chunk
    })().catch((e: unknown) => e)
    expect(streamed).toMatchObject({ status: 401, lc_error_code: 'MODEL_AUTHENTICATION' })
  })
})

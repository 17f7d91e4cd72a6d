import { describe, expect, it } from 'vitest'
import type { ChatRequest } from '../../src/formats/openai/request'
import { toOpenAICompatible } from '../../src/providers/openai'
import { PRESETS } from '../../src/providers/presets'
import { BETA } from '../support/catalog'
import { chat, setUpGateway } from '../support/gateway'
import { anthropicText, fakeUpstreams, jsonResponse } from '../support/upstream'

/**
 * Cache marks sent to Anthropic: where Anthropic takes them (on a tool_result, not inside it), the
 * message-level mark OpenRouter's AI SDK provider sends, and a conversation sent alike from turn to
 * turn whether or not a block holds the breakpoint (Anthropic reads its cache only on an identical prefix).
 */

const tenant = setUpGateway()
const ephemeral = { type: 'ephemeral' }
const claudeAnswer = anthropicText('Done.')
const tools = [{ name: 'read_file', description: 'Read a file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } }]

const messages = (body: object) => chat(tenant.key, body, '/v1/messages')

type Block = { type: string; cache_control?: unknown; content?: unknown; [key: string]: unknown }
const turns = (body: Record<string, unknown>) => body.messages as Array<{ role: string; content: Block[] }>
const unmarked = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(unmarked)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'cache_control').map(([key, inner]) => [key, unmarked(inner)]))
      : value

describe('cache_control on tool results sent to Anthropic', () => {
  it("keeps a tool_result's mark on the tool_result when its content holds an image (Anthropic refuses one inside tool_result.content)", async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(claudeAnswer) })
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0=' } }
    const response = await messages({
      model: 'test/claude',
      max_tokens: 64,
      tools,
      messages: [
        { role: 'user', content: 'Look at shot.png' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'shot.png' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [image], cache_control: ephemeral }] },
      ],
    })
    expect(response.status).toBe(200)
    expect(turns(upstream.calls[0]!.body)[2]!.content[0]).toEqual({ type: 'tool_result', tool_use_id: 'toolu_1', content: [image], cache_control: ephemeral })
  })

  it("hoists an OpenAI-format tool message's part mark onto the tool_result when the result holds an image", async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(claudeAnswer) })
    const response = await chat(tenant.key, {
      model: 'test/claude',
      messages: [
        { role: 'user', content: 'Look at shot.png' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"shot.png"}' } }] },
        {
          role: 'tool',
          tool_call_id: 'toolu_1',
          content: [
            { type: 'text', text: 'shot.png' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0=' }, cache_control: ephemeral },
          ],
        },
      ],
    })
    expect(response.status).toBe(200)
    const result = turns(upstream.calls[0]!.body)[2]!.content[0]!
    expect(result.cache_control).toEqual(ephemeral)
    expect((result.content as Block[]).filter((block) => 'cache_control' in block)).toEqual([])
  })
})

describe("OpenRouter's message-level cache_control", () => {
  it('marks the last block of a message that carries cache_control itself (as @openrouter/ai-sdk-provider sends it)', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(claudeAnswer) })
    const response = await chat(tenant.key, {
      model: 'test/claude',
      messages: [
        { role: 'system', content: 'Long fixed instructions.', cache_control: ephemeral },
        { role: 'user', content: 'Read a' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a"}' } }], cache_control: ephemeral },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'a long file', cache_control: ephemeral },
      ],
    })
    expect(response.status).toBe(200)
    const body = upstream.calls[0]!.body
    expect(body.system).toEqual([{ type: 'text', text: 'Long fixed instructions.', cache_control: ephemeral }])
    const sent = turns(body)
    expect(sent[1]!.content.at(-1)).toMatchObject({ type: 'tool_use', cache_control: ephemeral })
    expect(sent[2]!.content[0]).toEqual({ type: 'tool_result', tool_use_id: 'toolu_1', content: 'a long file', cache_control: ephemeral })
  })

  it('is not sent to a strict OpenAI-format provider, as part-level marks are not', () => {
    const request = {
      model: 'x/y',
      messages: [
        { role: 'user', content: 'Read a' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read_file', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'a long file', cache_control: ephemeral },
      ],
    } as ChatRequest
    const body = toOpenAICompatible(request, PRESETS.openai, 'gpt-up', false)
    expect((body.messages as Array<Record<string, unknown>>)[2]).not.toHaveProperty('cache_control')
  })
})

describe('the prefix Anthropic caches is sent alike the turn after', () => {
  const readAAndB = (content: object[]) => ({
    model: 'test/claude',
    max_tokens: 64,
    tools,
    messages: [
      { role: 'user', content: 'Read a and b' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'a' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content }] },
    ],
  })

  it('keeps the text blocks of a /v1/messages tool result a line apart when one inside carries a mark, as when none does', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(claudeAnswer) })
    expect((await messages(readAAndB([{ type: 'text', text: 'part A', cache_control: ephemeral }, { type: 'text', text: 'part B' }]))).status).toBe(200)
    expect((await messages(readAAndB([{ type: 'text', text: 'part A' }, { type: 'text', text: 'part B' }]))).status).toBe(200)
    const [marked, plain] = upstream.calls.map((call) => turns(call.body)[2]!.content[0]!)
    expect(plain!.content).toBe('part A\npart B')
    expect(marked).toEqual({ ...plain, cache_control: ephemeral })
  })

  it('sends an assistant turn of several text blocks alike whether or not its last block carries the breakpoint', async () => {
    const upstream = fakeUpstreams({ [BETA]: () => jsonResponse(claudeAnswer) })
    const assistant = (marked: boolean) => ({
      role: 'assistant',
      content: [{ type: 'text', text: 'Part one.' }, { type: 'text', text: 'Part two.', ...(marked ? { cache_control: ephemeral } : {}) }],
    })
    expect((await messages({ model: 'test/claude', max_tokens: 64, messages: [{ role: 'user', content: 'Go' }, assistant(true), { role: 'user', content: 'More' }] })).status).toBe(200)
    const next = [
      { role: 'user', content: 'Go' },
      assistant(false),
      { role: 'user', content: 'More' },
      assistant(false),
      { role: 'user', content: [{ type: 'text', text: 'Again', cache_control: ephemeral }] },
    ]
    expect((await messages({ model: 'test/claude', max_tokens: 64, messages: next })).status).toBe(200)
    const [first, second] = upstream.calls.map((call) => turns(call.body)[1])
    expect(first!.content.at(-1)).toMatchObject({ cache_control: ephemeral })
    expect(unmarked(second)).toEqual(unmarked(first))
  })
})

import { describe, expect, it } from 'vitest'
import { estimatePromptTokens } from '../../src/formats/openai/estimate'
import type { ChatRequest, Message } from '../../src/formats/openai/request'
import { CatalogSchema } from '../../src/catalog/schema'
import { compileCatalog } from '../../src/catalog/snapshot'
import { compressionAsked, compressToFit, ELISION } from '../../src/routing/compression'
import { catalogDoc, plan } from './fixtures'

const ON = { plugins: [{ id: 'context-compression' }] }

/** A conversation of `turns` user/assistant pairs, each message `size` characters tagged with its place. */
function conversation(turns: number, size: number): Message[] {
  return Array.from({ length: turns }, (_, i): Message[] => [
    { role: 'user', content: `u${i} `.padEnd(size, 'x') },
    { role: 'assistant', content: `a${i} `.padEnd(size, 'y') },
  ]).flat()
}

function request(messages: Message[], fields: Partial<ChatRequest> = ON): ChatRequest {
  return { model: 'x/text', messages, ...fields }
}

function tags(messages: Message[]): string[] {
  return messages.map((message) => (typeof message.content === 'string' ? message.content.split(' ')[0]! : message.role))
}

describe('whether compression is asked for', () => {
  it.each([
    [{ plugins: [{ id: 'context-compression' }] }, 'on'],
    [{ plugins: [{ id: 'context-compression', enabled: true }] }, 'on'],
    [{ plugins: [{ id: 'context-compression', enabled: false }], transforms: ['middle-out'] }, 'off'],
    [{ plugins: [{ id: 'web' }], transforms: ['middle-out'] }, 'on'],
    [{ transforms: [] }, 'off'],
    [{ plugins: [{ id: 'web' }] }, 'default'],
    [{}, 'default'],
  ])('%j is %s', (fields, asked) => {
    expect(compressionAsked(request([], fields as Partial<ChatRequest>))).toBe(asked)
  })
})

describe('compressing a prompt to fit a window', () => {
  it('drops whole turns from the middle outwards, keeping the system prompt and the first and last turns', () => {
    const messages: Message[] = [{ role: 'system', content: 'sys be brief' }, ...conversation(6, 4_000)]
    const result = compressToFit(request(messages, { ...ON, max_tokens: 500 }), 8_000)!
    // 12 messages of 1,000 tokens each do not fit 0.75 × 7,500. Dropped from the middle, two at a
    // time (a2 and u3 first), user and assistant still alternate.
    expect(tags(result.request.messages)).toEqual(['sys', 'u0', 'a0', 'u5', 'a5'])
    expect(result.compression).toMatchObject({ window: 8_000, messages_removed: 8, characters_cut: 0 })
    expect(estimatePromptTokens(result.request)).toBeLessThanOrEqual(0.75 * 7_500)
    expect(result.compression.prompt_tokens_estimate.before).toBe(estimatePromptTokens(request(messages)))
  })

  it('keeps tool results with the call they answer', () => {
    const call = (id: string): Message => ({ role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'f', arguments: '{}' } }] })
    const result = (id: string): Message => ({ role: 'tool', tool_call_id: id, content: 'r'.repeat(6_000) })
    const messages: Message[] = [
      { role: 'user', content: 'u0 task' },
      call('c1'),
      result('c1'),
      call('c2'),
      result('c2'),
      call('c3'),
      result('c3'),
      { role: 'user', content: 'u9 go on' },
    ]
    const kept = compressToFit(request(messages), 4_000)!.request.messages
    for (const [index, message] of kept.entries()) {
      if (message.role === 'tool') expect(kept[index - 1]).toMatchObject({ tool_calls: [{ id: message.tool_call_id }] })
    }
    expect(kept.at(-1)).toEqual(messages.at(-1))
    expect(kept.length).toBeLessThan(messages.length)
  })

  it('then cuts the middle out of the longest text, when the first and last turns alone are too long', () => {
    const long = `start ${'m'.repeat(40_000)} end`
    const result = compressToFit(request([{ role: 'user', content: long }]), 8_192)!
    const text = result.request.messages[0]!.content as string
    expect(text.startsWith('start ')).toBe(true)
    expect(text.endsWith(' end')).toBe(true)
    expect(text).toContain(ELISION)
    expect(result.compression.characters_cut).toBe(long.length - text.length)
    expect(estimatePromptTokens(result.request)).toBeLessThanOrEqual(0.75 * 8_192)
  })

  it('cuts a text part of an array content and never splits a surrogate pair', () => {
    const emoji = '😀'.repeat(20_000)
    const result = compressToFit(request([{ role: 'user', content: [{ type: 'text', text: emoji }] }]), 4_096)!
    const part = (result.request.messages[0]!.content as { type: string; text: string }[])[0]!
    expect(part.text).toContain(ELISION)
    expect(part.text.replace(ELISION, '')).toMatch(/^(😀)+$/u)
  })

  it('leaves the system prompt whole', () => {
    const system = 's'.repeat(20_000)
    const messages: Message[] = [{ role: 'system', content: system }, { role: 'user', content: 'u'.repeat(40_000) }]
    const result = compressToFit(request(messages), 16_000)!
    expect(result.request.messages[0]!.content).toBe(system)
    expect(compressToFit(request([{ role: 'system', content: system }, { role: 'user', content: 'hi' }]), 4_000)).toBeNull()
  })

  it('is not done when refused, or by default for a window above 8,192 tokens', () => {
    const messages = conversation(6, 4_000)
    expect(compressToFit(request(messages, { plugins: [{ id: 'context-compression', enabled: false }] }), 4_000)).toBeNull()
    expect(compressToFit(request(messages, { transforms: [] }), 4_000)).toBeNull()
    expect(compressToFit(request(messages, {}), 8_193)).toBeNull()
    expect(compressToFit(request(messages, {}), 8_192)).not.toBeNull()
  })

  it('gives up when what cannot be cut does not fit (images, tool definitions, max_tokens)', () => {
    const image = { type: 'image_url' as const, image_url: { url: 'https://x/y.png' } }
    expect(compressToFit(request([{ role: 'user', content: Array.from({ length: 8 }, () => image) }]), 4_096)).toBeNull()
    expect(compressToFit(request(conversation(2, 4_000), { ...ON, max_tokens: 4_000 }), 4_096)).toBeNull()
  })

  it.each([3, 7, 20, 101])('fits %i turns of varied sizes within the window', (turns) => {
    const messages = conversation(turns, 1).map((message, i) => ({ ...message, content: `${message.content as string}`.padEnd(100 + ((i * 7919) % 9_000), 'z') }))
    const result = compressToFit(request(messages, { ...ON, max_tokens: 1_000 }), 16_384)
    expect(result).not.toBeNull()
    expect(estimatePromptTokens(result!.request) + 1_000).toBeLessThanOrEqual(16_384)
    expect(result!.request.messages[0]).toEqual(messages[0])
    expect(result!.request.messages.at(-1)!.role).toBe('assistant')
  })
})

describe('planning with compression', () => {
  const long = conversation(40, 8_000)

  it('routes a prompt too long for every endpoint once shortened to the largest window, and traces it', () => {
    const planned = plan({ model: 'x/text', messages: long, transforms: ['middle-out'], max_tokens: 100 }, { trace: true })
    expect(planned.endpoints.map((endpoint) => endpoint.provider.id)).toEqual(['us'])
    expect(planned.request.messages.length).toBeLessThan(long.length)
    expect(planned.trace?.compressed).toMatchObject({ window: 32_000, messages_removed: long.length - planned.request.messages.length })
  })

  it('sends the request as it came when it fits', () => {
    const asked = { model: 'x/text', messages: conversation(2, 100), transforms: ['middle-out'] }
    const planned = plan(asked, { trace: true })
    expect(planned.request.messages).toEqual(asked.messages)
    expect(planned.trace?.compressed).toBeNull()
  })

  it('fits a smaller window when a later filter removes the larger one (here max_tokens)', () => {
    const endpoint = (contextLength: number, maxCompletionTokens: number) => ({
      ...catalogDoc.models[1]!.endpoints[0]!,
      contextLength,
      maxCompletionTokens,
    })
    const twoWindows = compileCatalog(
      CatalogSchema.parse({
        ...catalogDoc,
        models: [{ ...catalogDoc.models[1]!, id: 'y/two', endpoints: [endpoint(32_000, 1_000), { ...endpoint(8_000, 4_000), provider: 'eu' }] }],
      }),
    )
    const planned = plan({ model: 'y/two', messages: long, max_tokens: 2_000, transforms: ['middle-out'] }, { catalog: twoWindows, trace: true })
    expect(planned.endpoints.map((endpoint) => endpoint.provider.id)).toEqual(['eu'])
    expect(planned.trace?.compressed).toMatchObject({ window: 8_000 })
  })

  it('still answers context_length_exceeded without compression', () => {
    expect(() => plan({ model: 'x/text', messages: long })).toThrow(/maximum context length is 32000 tokens/)
  })
})

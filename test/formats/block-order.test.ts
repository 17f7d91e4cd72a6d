import { describe, expect, it } from 'vitest'
import { blockOrder, isInterleaved, placed, sentTexts, withBlockOrder } from '../../src/formats/block-order'
import { fromAnthropicRequest, MessagesRequest } from '../../src/formats/anthropic/ingress-request'
import { toBedrock } from '../../src/formats/bedrock/request'
import { fromBedrock } from '../../src/formats/bedrock/response'

describe('block order', () => {
  it('is interleaved only where reasoning follows another block', () => {
    expect(isInterleaved(['reasoning', 'reasoning', 'text', 'tool', 'tool'])).toBe(false)
    expect(isInterleaved(['text', 'tool'])).toBe(false)
    expect(isInterleaved(['reasoning', 'tool', 'reasoning', 'tool'])).toBe(true)
    expect(isInterleaved(['text', 'reasoning'])).toBe(true)
  })

  it('places each kind in its own order, and gives up when a count differs from the order’s', () => {
    const order = { kinds: ['reasoning', 'tool', 'reasoning', 'text'] } as const
    expect(placed(order, { reasoning: ['r1', 'r2'], text: ['t'], tool: ['c'] })).toEqual(['r1', 'c', 'r2', 't'])
    expect(placed(order, { reasoning: ['r1'], text: ['t'], tool: ['c'] })).toBeNull()
    expect(placed(order, { reasoning: ['r1', 'r2', 'r3'], text: ['t'], tool: ['c'] })).toBeNull()
  })

  const turn = [
    { type: 'thinking', thinking: 'First a.', signature: 'sig-1' },
    { type: 'tool_use', id: 'toolu_a', name: 'read', input: { path: 'a' } },
    { type: 'thinking', thinking: 'Now b.', signature: 'sig-2' },
    { type: 'text', text: 'Reading b.' },
    { type: 'tool_use', id: 'toolu_b', name: 'read', input: { path: 'b' } },
  ]
  /** A /v1/messages request whose assistant turn is `content`, as the canonical request. */
  const withTurn = (content: object[]) =>
    fromAnthropicRequest(
      MessagesRequest.parse({
        model: 'm',
        max_tokens: 64,
        messages: [
          { role: 'user', content: 'Read a and b' },
          { role: 'assistant', content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_a', content: 'A' }, { type: 'tool_result', tool_use_id: 'toolu_b', content: 'B' }] },
        ],
      }),
    )
  const canonical = withTurn(turn)
  const claude = { upstreamModel: 'anthropic.claude-sonnet-4-5-20250929-v1:0', maxTokensCap: 64_000 }

  it('is kept on a /v1/messages turn, where no serialisation carries it', () => {
    const assistant = canonical.messages[1]!
    expect(blockOrder(assistant)).toEqual({ kinds: ['reasoning', 'tool', 'reasoning', 'text', 'tool'], texts: { blocks: ['Reading b.'], joined: 'Reading b.' } })
    // The content every other upstream gets is as before: the text, one string.
    expect(assistant.content).toBe('Reading b.')
    expect(blockOrder({ ...assistant })).toEqual(blockOrder(assistant))
    expect(Object.getOwnPropertySymbols(JSON.parse(JSON.stringify(assistant)))).toEqual([])
    expect(Object.keys(JSON.parse(JSON.stringify(assistant)))).toEqual(Object.keys(assistant))
  })

  it('gives Claude on Bedrock its interleaved thinking where it stood', () => {
    const body = toBedrock({ ...canonical, reasoning: { max_tokens: 1024 } }, { claude }) as { messages: { content: object[] }[] }
    expect(body.messages[1]!.content).toEqual([
      { reasoningContent: { reasoningText: { text: 'First a.', signature: 'sig-1' } } },
      { toolUse: { toolUseId: 'toolu_a', name: 'read', input: { path: 'a' } } },
      { reasoningContent: { reasoningText: { text: 'Now b.', signature: 'sig-2' } } },
      { text: 'Reading b.' },
      { toolUse: { toolUseId: 'toolu_b', name: 'read', input: { path: 'b' } } },
    ])
  })

  it('gives Claude on Bedrock a turn with no text, [thinking, tool_use, thinking, tool_use], as it came', () => {
    const noText = withTurn(turn.filter((block) => block.type !== 'text'))
    const body = toBedrock({ ...noText, reasoning: { max_tokens: 1024 } }, { claude }) as { messages: { content: object[] }[] }
    expect(body.messages[1]!.content).toEqual([
      { reasoningContent: { reasoningText: { text: 'First a.', signature: 'sig-1' } } },
      { toolUse: { toolUseId: 'toolu_a', name: 'read', input: { path: 'a' } } },
      { reasoningContent: { reasoningText: { text: 'Now b.', signature: 'sig-2' } } },
      { toolUse: { toolUseId: 'toolu_b', name: 'read', input: { path: 'b' } } },
    ])
  })

  it('gives two text blocks back apart while the content is what they were joined into, and the content once it was changed', () => {
    const message = withBlockOrder({ role: 'assistant', content: 'a\nb' }, { kinds: ['reasoning', 'text', 'reasoning', 'text'], texts: { blocks: ['a', 'b'], joined: 'a\nb' } })
    expect(sentTexts(message)).toEqual(['a', 'b'])
    expect(sentTexts({ ...message, content: 'shortened' })).toBeNull()
  })

  it('is read from Claude’s Converse answer, so a Messages client is answered in it', () => {
    const body = {
      output: {
        message: {
          role: 'assistant',
          content: [
            { reasoningContent: { reasoningText: { text: 'First a.', signature: 'sig-1' } } },
            { toolUse: { toolUseId: 'toolu_a', name: 'read', input: { path: 'a' } } },
            { reasoningContent: { redactedContent: 'opaque' } },
            { text: 'Reading b.' },
          ],
        },
      },
      stopReason: 'tool_use',
      usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 },
    }
    expect(blockOrder(fromBedrock(body, { claude: true }).message)).toEqual({ kinds: ['reasoning', 'tool', 'reasoning', 'text'], texts: { blocks: ['Reading b.'], joined: 'Reading b.' } })
    // Reasoning left out, or not Claude's: nothing to keep.
    expect(blockOrder(fromBedrock(body, { claude: true, excludeReasoning: true }).message)).toBeUndefined()
    expect(blockOrder(fromBedrock(body).message)).toBeUndefined()
  })
})

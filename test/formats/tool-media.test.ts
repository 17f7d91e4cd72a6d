import { describe, expect, it } from 'vitest'
import { fromAnthropicRequest, MessagesRequest } from '../../src/formats/anthropic/ingress-request'
import { toBedrock } from '../../src/formats/bedrock/request'
import { toGemini } from '../../src/formats/gemini/request'
import { toOpenAICompatible } from '../../src/providers/openai'
import { presetFor } from '../../src/providers/presets'

/** Tool results that hold images, from /v1/messages to the formats whose results hold text only (or, on Bedrock, media only for some models). */

const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0=' } }

/** A /v1/messages request whose last user turn answers one call, as the canonical request. */
function canonical(lastTurn: unknown[]) {
  return fromAnthropicRequest(
    MessagesRequest.parse({
      model: 'test/other',
      max_tokens: 50,
      tools: [{ name: 'shot', input_schema: { type: 'object' } }],
      messages: [
        { role: 'user', content: 'Take a screenshot.' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'shot', input: {} }] },
        { role: 'user', content: lastTurn },
      ],
    }),
  )
}
const openaiMessages = (lastTurn: unknown[]) => toOpenAICompatible(canonical(lastTurn), presetFor({}), 'gamma-other', false).messages as Array<Record<string, unknown>>

describe('tool results with images', () => {
  it('keep a line between their texts, as a text-only result does', () => {
    const twoTexts = [{ type: 'text', text: 'part A' }, { type: 'text', text: 'part B' }]
    expect(openaiMessages([{ type: 'tool_result', tool_use_id: 'toolu_1', content: twoTexts }])[2]).toMatchObject({ role: 'tool', content: 'part A\npart B' })
    const turn = [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [...twoTexts, image] }]
    expect(openaiMessages(turn)[2]).toMatchObject({ role: 'tool', tool_call_id: 'toolu_1', content: 'part A\npart B' })
    const gemini = toGemini(canonical(turn)).contents as Array<{ parts: Array<Record<string, unknown>> }>
    expect(gemini[2]!.parts[0]).toEqual({ functionResponse: { name: 'shot', response: { content: 'part A\npart B' } } })
  })

  it('open the user message after the results on an OpenAI-format upstream, never a second user message in a row', () => {
    const sent = openaiMessages([
      { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'chart.png' }, image] },
      { type: 'text', text: 'Compare them.' },
    ])
    expect(sent.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'user'])
    expect(sent[3]).toEqual({
      role: 'user',
      content: [
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0=' } },
        { type: 'text', text: 'Compare them.' },
      ],
    })
  })

  it('stay inside the result on Bedrock for Claude and Nova, and follow the results for other models', () => {
    const request = canonical([{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'chart.png' }, image] }, { type: 'text', text: 'And?' }])
    const png = { image: { format: 'png', source: { bytes: 'iVBORw0=' } } }
    expect((toBedrock(request, { jsonTool: true }).messages as unknown[])[2]).toEqual({
      role: 'user',
      content: [{ toolResult: { toolUseId: 'toolu_1', content: [{ text: 'chart.png' }, png] } }, { text: 'And?' }],
    })
    expect((toBedrock(request).messages as unknown[])[2]).toEqual({
      role: 'user',
      content: [{ toolResult: { toolUseId: 'toolu_1', content: [{ text: 'chart.png' }] } }, png, { text: 'And?' }],
    })
  })
})

import { describe, expect, it } from 'vitest'
import { toAnthropic } from '../../src/formats/anthropic/request'
import { toBedrock } from '../../src/formats/bedrock/request'
import { ChatRequest } from '../../src/formats/openai/request'
import { portableToolId } from '../../src/formats/tool-ids'

/** A conversation whose tool call another provider named (Kimi names calls `functions.<name>:<n>`). */
const conversation = (id: string) =>
  ChatRequest.parse({
    model: 'm',
    messages: [
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: id, content: '12C' },
    ],
  })

describe('portableToolId', () => {
  it('keeps ids Anthropic and Bedrock accept, and rewrites others alike wherever they stand, without making two one', () => {
    expect(portableToolId('call_abc-123')).toBe('call_abc-123')
    expect(portableToolId('toolu_01A09q90qw90lq917835lq9')).toBe('toolu_01A09q90qw90lq917835lq9')
    const rewritten = portableToolId('functions.get_weather:0')
    expect(rewritten).toMatch(/^functions_get_weather_0_[0-9a-z]{7}$/)
    expect(portableToolId('functions.get_weather:0')).toBe(rewritten)
    expect(portableToolId('functions_get_weather:0')).not.toBe(rewritten)
    expect(portableToolId('x'.repeat(100))).toMatch(/^x{56}_[0-9a-z]{7}$/)
    expect(portableToolId('')).toMatch(/^_[0-9a-z]{7}$/)
  })

  it('is what an Anthropic request’s tool_use and tool_result carry', () => {
    const { body } = toAnthropic(conversation('functions.get_weather:0'), { upstreamModel: 'claude', maxTokens: 100, stream: false })
    const messages = body.messages as { content: { id?: string; tool_use_id?: string }[] }[]
    const id = portableToolId('functions.get_weather:0')
    expect(messages[1]!.content[0]!.id).toBe(id)
    expect(messages[2]!.content[0]!.tool_use_id).toBe(id)
  })

  it('is what a Bedrock request’s toolUse and toolResult carry', () => {
    const body = toBedrock(conversation('functions.get_weather:0'), { maxTokens: 100 })
    const id = portableToolId('functions.get_weather:0')
    expect(JSON.stringify(body.messages)).toContain(`"toolUseId":"${id}"`)
    expect(JSON.stringify(body.messages).match(new RegExp(id, 'g'))).toHaveLength(2)
  })
})

/// <reference types="node" />
import { generateText, stepCountIs, streamText, tool, type LanguageModel, type ProviderMetadata } from 'ai'
import { expect, it } from 'vitest'
import { z } from 'zod'

/** The tool every AI SDK test offers; the demo fleet calls it with arguments filled from its schema. */
export const weather = tool({
  description: 'Current weather of a city',
  inputSchema: z.object({ city: z.string(), days: z.number().int() }),
})

/**
 * The tool-call cases every AI SDK provider must pass against the gateway, unchanged but for the
 * `providerOptions` given.
 */
export function itCallsTools(model: () => LanguageModel, providerOptions: ProviderMetadata = {}): void {
  it('calls a tool with a zod input schema', async () => {
    const result = await generateText({ model: model(), prompt: 'Weather in Paris?', tools: { weather }, providerOptions, maxRetries: 0 })
    expect(result.finishReason).toBe('tool-calls')
    expect(result.toolCalls).toHaveLength(1)
    expect(result.toolCalls[0]!.toolName).toBe('weather')
    expect(result.toolCalls[0]!.input).toEqual({ city: 'demo', days: 1 })
  })

  it('runs a tool and answers with its result over two steps, streaming', async () => {
    const result = streamText({
      model: model(),
      prompt: 'Weather in Paris?',
      tools: { weather: tool({ ...weather, execute: async ({ city }) => `sunny in ${city}` }) },
      stopWhen: stepCountIs(2),
      providerOptions,
      maxRetries: 0,
    })
    expect(await result.text).toContain('sunny in demo')
    const steps = await result.steps
    expect(steps).toHaveLength(2)
    expect(steps[0]!.toolCalls[0]!.input).toEqual({ city: 'demo', days: 1 })
  })
}

import { z } from 'zod'
import { invalidInput } from '../../errors'
import type { Tool, ToolChoice } from './request'

/**
 * OpenAI's `allowed_tools` choice: the model may use only the tools it lists, in its `mode`, while
 * the request keeps the whole list (so OpenAI's prompt cache survives a narrower turn). No other
 * provider has it, so it is served as what it means: the tools it allows and its mode. Every
 * provider takes that.
 */

export const AllowedToolsChoice = z.looseObject({
  type: z.literal('allowed_tools'),
  allowed_tools: z.looseObject({
    mode: z.enum(['auto', 'required']),
    tools: z
      .array(
        z.discriminatedUnion('type', [
          z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
          z.looseObject({ type: z.literal('custom'), custom: z.looseObject({ name: z.string() }) }),
        ]),
      )
      .min(1),
  }),
})
export type AllowedToolsChoice = z.infer<typeof AllowedToolsChoice>

/**
 * The tools a choice allows, and its mode; a tool it names that the request lacks is a 400.
 * `tools` are the request's as functions, custom ones included (./custom-tools).
 */
export function allowedTools(tools: Tool[] | null | undefined, choice: AllowedToolsChoice): { tools: Tool[]; tool_choice: ToolChoice } {
  const { mode, tools: allowed } = choice.allowed_tools
  const named = allowed.map((tool) => (tool.type === 'custom' ? { kind: 'custom', name: tool.custom.name } : { kind: 'function', name: tool.function.name }))
  const names = new Set(named.map((tool) => tool.name))
  named.forEach(({ kind, name }, index) => {
    if (!tools?.some((declared) => declared.function.name === name)) {
      throw invalidInput('request', [{ path: ['tool_choice', 'allowed_tools', 'tools', index, kind, 'name'], message: `no tool named "${name}" in tools` }])
    }
  })
  return { tools: (tools ?? []).filter((tool) => names.has(tool.function.name)), tool_choice: mode }
}

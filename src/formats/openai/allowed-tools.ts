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
    tools: z.array(z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) })).min(1),
  }),
})
export type AllowedToolsChoice = z.infer<typeof AllowedToolsChoice>

/** The tools a choice allows, and its mode; a tool it names that the request lacks is a 400. */
export function allowedTools(tools: Tool[] | null | undefined, choice: AllowedToolsChoice): { tools: Tool[]; tool_choice: ToolChoice } {
  const { mode, tools: allowed } = choice.allowed_tools
  const names = new Set(allowed.map((tool) => tool.function.name))
  allowed.forEach((tool, index) => {
    if (!tools?.some((declared) => declared.function.name === tool.function.name)) {
      throw invalidInput('request', [{ path: ['tool_choice', 'allowed_tools', 'tools', index, 'function', 'name'], message: `no tool named "${tool.function.name}" in tools` }])
    }
  })
  return { tools: (tools ?? []).filter((tool) => names.has(tool.function.name)), tool_choice: mode }
}

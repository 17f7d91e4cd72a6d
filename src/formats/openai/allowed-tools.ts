import * as z from 'zod'
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
 * The tools a choice allows, and its mode. `tools` are the request's as functions, custom ones
 * included, whose names are `custom` (./custom-tools). An entry naming no tool of its kind is a 400.
 */
export function allowedTools(
  tools: Tool[] | null | undefined,
  choice: AllowedToolsChoice,
  custom: ReadonlySet<string>,
): { tools: Tool[]; tool_choice: ToolChoice } {
  const { mode, tools: allowed } = choice.allowed_tools
  const named = allowed.map((tool) => (tool.type === 'custom' ? { kind: 'custom' as const, name: tool.custom.name } : { kind: 'function' as const, name: tool.function.name }))
  named.forEach(({ kind, name }, index) => {
    const declared = tools?.some((tool) => tool.function.name === name) === true && (kind === 'custom') === custom.has(name)
    if (!declared) throw invalidInput('request', [{ path: ['tool_choice', 'allowed_tools', 'tools', index, kind, 'name'], message: `no ${kind} tool named "${name}" in tools` }])
  })
  const names = new Set(named.map((tool) => tool.name))
  return { tools: (tools ?? []).filter((tool) => names.has(tool.function.name)), tool_choice: mode }
}

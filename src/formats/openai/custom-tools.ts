import * as z from 'zod'
import type { AssistantMessage } from '../canonical'
import { customArguments, customInput, customToolFunction } from '../custom-tools'
import { invalidInput } from '../../errors'
import { ToolName, type Tool, type ToolCall, type ToolChoice } from './request'

/**
 * Custom (freeform) tools on chat completions, in OpenAI's spelling there: a tool
 * `{type: "custom", custom: {name, description, format}}`, a call `{type: "custom", custom: {name,
 * input}}`, a choice `{type: "custom", custom: {name}}`. They are served as functions of one string
 * (formats/custom-tools.ts), so every provider takes them, and their calls go back to the client in
 * the custom shape.
 */

const CustomFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('grammar'), grammar: z.looseObject({ syntax: z.string(), definition: z.string() }) }),
])

export const CustomTool = z.looseObject({
  type: z.literal('custom'),
  custom: z.looseObject({ name: ToolName, description: z.string().nullish(), format: CustomFormat.nullish() }),
})
type CustomTool = z.infer<typeof CustomTool>

/** A custom call in the history; the ingress schema reads calls by `type` (./functions.ts). */
export const CustomToolCall = z.looseObject({
  id: z.string(),
  type: z.literal('custom'),
  custom: z.looseObject({ name: z.string(), input: z.string() }),
})
type CustomToolCall = z.infer<typeof CustomToolCall>

export const CustomToolChoice = z.looseObject({ type: z.literal('custom'), custom: z.looseObject({ name: z.string() }) })
export type CustomToolChoice = z.infer<typeof CustomToolChoice>

/** A request without custom tools. */
export const NO_CUSTOM_TOOLS: ReadonlySet<string> = new Set()

const isCustom = <T extends { type?: string }>(item: T): item is Extract<T, { type: 'custom' }> => item.type === 'custom'

/**
 * The request's tools as functions, and the names of those that were custom. A custom tool named
 * as another tool is a 400: the upstream would see two functions of one name, and a call of that
 * name could not be told apart.
 */
export function functionTools(tools: Array<Tool | CustomTool>): { tools: Tool[]; custom: ReadonlySet<string> } {
  const custom = new Set<string>()
  const named = new Set<string>()
  const converted = tools.map((tool): Tool => {
    if (!isCustom(tool)) {
      named.add(tool.function.name)
      return tool
    }
    const { name, description, format } = tool.custom
    custom.add(name)
    return customToolFunction({ name, description, grammar: format?.type === 'grammar' ? format.grammar : null })
  })
  tools.forEach((tool, index) => {
    if (!isCustom(tool)) return
    const { name } = tool.custom
    const twice = named.has(name) || tools.findIndex((other) => isCustom(other) && other.custom.name === name) !== index
    if (twice) throw invalidInput('request', [{ path: ['tools', index, 'custom', 'name'], message: `another tool is named "${name}": tool names must be unique` }])
  })
  return { tools: converted, custom }
}

/** Of a choice the request's schema has read, whether it is one of a custom tool. */
export const isCustomChoice = <T extends object | string | null | undefined>(choice: T | CustomToolChoice): choice is CustomToolChoice =>
  typeof choice === 'object' && choice !== null && 'type' in choice && choice.type === 'custom'

/** A choice of one custom tool, as the choice of its function; one naming no custom tool is a 400. */
export function functionChoice(choice: CustomToolChoice, custom: ReadonlySet<string>): ToolChoice {
  const { name } = choice.custom
  if (!custom.has(name)) throw invalidInput('request', [{ path: ['tool_choice', 'custom', 'name'], message: `no custom tool named "${name}" in tools` }])
  return { type: 'function', function: { name } }
}

/** Whether an assistant turn gives back no calls of custom tools (else `functionCalls` converts them). */
export const onlyFunctionCalls = <T extends { tool_calls?: Array<ToolCall | CustomToolCall> | null }>(turn: T): turn is T & { tool_calls?: ToolCall[] | null } =>
  !turn.tool_calls?.some(isCustom)

/** An assistant turn's custom tool calls, given back, as calls of their functions. */
export function functionCalls(calls: Array<ToolCall | CustomToolCall>): ToolCall[] {
  return calls.map((call) =>
    isCustom(call)
      ? { id: call.id, type: 'function', function: { name: call.custom.name, arguments: customArguments(call.custom.input) }, ...extraContentOf(call) }
      : call,
  )
}

/** A call's vendor data (Gemini's thought signature, canonical.ts ToolCallDelta), kept whichever shape the call takes. */
export function extraContentOf(call: object): { extra_content?: unknown } {
  const extra = (call as { extra_content?: unknown }).extra_content
  return extra != null ? { extra_content: extra } : {}
}

/** A call of a custom tool as the client reads it, from its function's arguments. */
export function customCall(id: string | undefined, name: string, args: string) {
  return { ...(id !== undefined ? { id } : {}), type: 'custom' as const, custom: { name, input: customInput(args) } }
}

/** An answer's calls of custom tools, in the custom shape. */
export function withCustomCalls(message: AssistantMessage, custom: ReadonlySet<string>): Record<string, unknown> {
  if (!message.tool_calls?.some((call) => custom.has(call.function.name))) return message
  return {
    ...message,
    tool_calls: message.tool_calls.map((call) =>
      custom.has(call.function.name) ? { ...customCall(call.id, call.function.name, call.function.arguments), ...extraContentOf(call) } : call,
    ),
  }
}

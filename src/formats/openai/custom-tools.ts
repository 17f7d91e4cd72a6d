import { z } from 'zod'
import type { AssistantMessage, Delta } from '../canonical'
import { customArguments, customInput, customToolFunction } from '../custom-tools'
import { isWholeArguments, ToolName, type Tool, type ToolCall, type ToolChoice } from './request'

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

/** The request's tools as functions, and the names of those that were custom. */
export function functionTools(tools: Array<Tool | CustomTool>): { tools: Tool[]; custom: ReadonlySet<string> } {
  const custom = new Set<string>()
  const converted = tools.map((tool): Tool => {
    if (!isCustom(tool)) return tool
    const { name, description, format } = tool.custom
    custom.add(name)
    return customToolFunction({ name, description, grammar: format?.type === 'grammar' ? format.grammar : null })
  })
  return { tools: converted, custom }
}

/** Of a choice the request's schema has read, whether it is one of a custom tool. */
export const isCustomChoice = <T extends object | string | null | undefined>(choice: T | CustomToolChoice): choice is CustomToolChoice =>
  typeof choice === 'object' && choice !== null && 'type' in choice && choice.type === 'custom'

/** A choice of one custom tool, as the choice of its function. */
export const functionChoice = (choice: CustomToolChoice): ToolChoice => ({ type: 'function', function: { name: choice.custom.name } })

/** An assistant turn's custom tool calls, given back, as calls of their functions. */
export function functionCalls(calls: Array<ToolCall | CustomToolCall>): ToolCall[] {
  return calls.map((call) =>
    isCustom(call) ? { id: call.id, type: 'function', function: { name: call.custom.name, arguments: customArguments(call.custom.input) } } : call,
  )
}

function customCall(id: string | undefined, name: string, args: string) {
  return { ...(id !== undefined ? { id } : {}), type: 'custom' as const, custom: { name, input: customInput(args) } }
}

/** An answer's calls of custom tools, in the custom shape. */
export function withCustomCalls(message: AssistantMessage, custom: ReadonlySet<string>): Record<string, unknown> {
  if (!message.tool_calls?.some((call) => custom.has(call.function.name))) return message
  return {
    ...message,
    tool_calls: message.tool_calls.map((call) => (custom.has(call.function.name) ? customCall(call.id, call.function.name, call.function.arguments) : call)),
  }
}

interface HeldCall {
  id: string | undefined
  name: string
  args: string
  sent: boolean
}

/**
 * A stream's calls of custom tools, each sent whole in one delta once its arguments are whole JSON
 * (or, failing that, at the finish: `pending`), since the provider streams the text inside JSON.
 * One delta, because the openai SDK's stream helper merges a call's later fragments with
 * `Object.assign`, which would replace `custom` rather than add to its input. Other deltas and
 * calls go through untouched; fragments of a custom call after its whole JSON are dropped.
 */
export function customCallDeltas(custom: ReadonlySet<string>): { delta(delta: Delta): Record<string, unknown> | null; pending(): Record<string, unknown> | null } {
  const held = new Map<number, HeldCall>()
  const functions = new Set<number>()
  return {
    delta(delta) {
      if (!delta.tool_calls) return delta
      const out: object[] = []
      for (const part of delta.tool_calls) {
        let call = held.get(part.index)
        const name = part.function?.name
        if (!call && !functions.has(part.index)) {
          if (name === undefined || !custom.has(name)) functions.add(part.index)
          else held.set(part.index, (call = { id: part.id, name, args: '', sent: false }))
        }
        if (!call) {
          out.push(part)
          continue
        }
        call.id ??= part.id
        const fragment = part.function?.arguments ?? ''
        if (call.sent || !fragment) continue
        call.args += fragment
        if (fragment.includes('}') && isWholeArguments(call.args)) {
          call.sent = true
          out.push({ index: part.index, ...customCall(call.id, call.name, call.args) })
        }
      }
      const { tool_calls: _calls, ...rest } = delta
      if (out.length) return { ...rest, tool_calls: out }
      return Object.keys(rest).length ? rest : null
    },
    pending() {
      const unsent = [...held].filter(([, call]) => !call.sent)
      for (const [, call] of unsent) call.sent = true
      return unsent.length ? { tool_calls: unsent.map(([index, call]) => ({ index, ...customCall(call.id, call.name, call.args) })) } : null
    },
  }
}

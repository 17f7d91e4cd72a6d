import { jsonTool } from '../json-tool'
import { historyTools } from '../openai/functions'
import { objectSchema } from '../tool-schema'
import type { ChatRequest, ToolChoice } from '../openai/request'
import { withCache, type Body } from './wire'

/**
 * OpenAI tools, tool_choice, parallel_tool_calls and structured output → Anthropic `tools` and
 * `tool_choice`. A `cache_control` marker on a tool (on the tool object or its `function`)
 * caches the tool definitions up to it.
 */

export function convertTools(request: ChatRequest): { tools: Body[]; toolChoice: Body | null; jsonTool: string | null } {
  // A history of calls with no tools declared gets them declared, none to be called (historyTools).
  const history = request.tools?.length ? [] : historyTools(request.messages)
  const userTools = request.tools?.length ? request.tools : history
  const tools: Body[] = userTools.map((tool) => {
    const fn = tool.function
    const converted = {
      name: fn.name,
      ...(fn.description ? { description: fn.description } : {}),
      input_schema: objectSchema(fn.parameters),
    }
    return withCache(withCache(converted, fn), tool)
  })
  let toolChoice = request.tool_choice ? anthropicToolChoice(request.tool_choice) : history.length ? { type: 'none' } : null
  // Structured output as a forced tool call works on every Claude model without beta headers.
  const json = jsonTool(request)
  if (json) {
    tools.push({ name: json.name, description: json.description, input_schema: objectSchema(json.schema) })
    // Claude may call even a forced tool more than once unless told not to: one answer.
    if (json.forced) toolChoice = { type: 'tool', name: json.name, disable_parallel_tool_use: true }
  }
  // Anthropic's "none" choice takes no options.
  if (request.parallel_tool_calls === false && toolChoice?.type !== 'none') {
    toolChoice = { type: 'auto', ...toolChoice, disable_parallel_tool_use: true }
  }
  return { tools, toolChoice, jsonTool: json?.name ?? null }
}

function anthropicToolChoice(choice: ToolChoice): Body {
  if (typeof choice !== 'string') return { type: 'tool', name: choice.function.name }
  return { auto: { type: 'auto' }, required: { type: 'any' }, none: { type: 'none' } }[choice]
}

import type { ChatRequest, ToolChoice } from '../openai/request'
import { withCache, type Body } from './wire'

/**
 * OpenAI tools, tool_choice, parallel_tool_calls and structured output → Anthropic `tools` and
 * `tool_choice`. A `cache_control` marker on a tool (on the tool object or its `function`)
 * caches the tool definitions up to it.
 */

const JSON_TOOL = 'json_response'
const EMPTY_SCHEMA = { type: 'object', properties: {} }

export function convertTools(request: ChatRequest): { tools: Body[]; toolChoice: Body | null; jsonTool: string | null } {
  const userTools = request.tools ?? []
  const tools: Body[] = userTools.map((tool) => {
    const fn = tool.function
    const converted = {
      name: fn.name,
      ...(fn.description ? { description: fn.description } : {}),
      input_schema: fn.parameters ?? EMPTY_SCHEMA,
    }
    return withCache(withCache(converted, fn), tool)
  })
  let toolChoice = request.tool_choice ? anthropicToolChoice(request.tool_choice) : null
  let jsonTool: string | null = null
  const format = request.response_format
  if (format?.type === 'json_object' || format?.type === 'json_schema') {
    // Structured output as a forced tool call works on every Claude model without beta headers;
    // the response decoders turn the call's input back into the message content.
    const names = new Set(userTools.map((tool) => tool.function.name))
    jsonTool = JSON_TOOL
    for (let n = 2; names.has(jsonTool); n++) jsonTool = `${JSON_TOOL}_${n}`
    const schema = format.type === 'json_schema' ? format.json_schema : undefined
    tools.push({
      name: jsonTool,
      description: schema?.description ?? 'Give the final answer as JSON matching this schema.',
      input_schema: schema?.schema ?? { type: 'object' },
    })
    if (!userTools.length && request.tool_choice == null) toolChoice = { type: 'tool', name: jsonTool }
  }
  // Anthropic's "none" choice takes no options.
  if (request.parallel_tool_calls === false && toolChoice?.type !== 'none') {
    toolChoice = { type: 'auto', ...toolChoice, disable_parallel_tool_use: true }
  }
  return { tools, toolChoice, jsonTool }
}

function anthropicToolChoice(choice: ToolChoice): Body {
  if (typeof choice !== 'string') return { type: 'tool', name: choice.function.name }
  return { auto: { type: 'auto' }, required: { type: 'any' }, none: { type: 'none' } }[choice]
}

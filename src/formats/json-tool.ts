import type { ChatRequest } from './openai/request'
import { hiddenEvents, type StreamEvent } from './canonical'

/**
 * `response_format` as a forced tool call, for upstreams whose every model takes tools but not a
 * JSON mode (Anthropic, Bedrock Converse): the model answers by calling the tool, and the
 * response decoders turn the call's input back into the message content (the first call's: a
 * model that calls it again answers once). The tool is forced unless the client declared tools
 * the model may call (tool_choice "auto" or none given); then the model may call it or the
 * client's tools. With "none", the JSON tool is the only one the model may call. With "required"
 * or a named tool the turn must call the client's tools, as on OpenAI, so there is no JSON tool.
 */

const NAME = 'json_response'

export interface JsonTool {
  /** `json_response`, or `json_response_2`… when a client tool already has the name. */
  name: string
  description: string
  schema: Record<string, unknown>
  /** Whether the request should force it (tool_choice). */
  forced: boolean
}

export function jsonTool(request: ChatRequest): JsonTool | null {
  const format = request.response_format
  if (format?.type !== 'json_object' && format?.type !== 'json_schema') return null
  const userTools = request.tools ?? []
  const choice = request.tool_choice
  if (userTools.length > 0 && (choice === 'required' || (typeof choice === 'object' && choice !== null))) return null
  const names = new Set(userTools.map((tool) => tool.function.name))
  let name = NAME
  for (let n = 2; names.has(name); n++) name = `${NAME}_${n}`
  const schema = format.type === 'json_schema' ? format.json_schema : undefined
  return {
    name,
    description: schema?.description ?? 'Give the final answer as JSON matching this schema.',
    schema: schema?.schema ?? { type: 'object' },
    forced: !userTools.length || request.tool_choice === 'none',
  }
}

/**
 * The stream side of the JSON answer. Unforced (the client has tools of its own), the model may
 * write text before it calls the JSON tool; the JSON decoders drop that text, so a stream must
 * not have sent it already. Text is held while the JSON answer may still come: dropped once it
 * does, and released ahead of a client tool call or the finish otherwise. Without a JSON tool,
 * text passes at once. (A forced tool gets no text before it, so nothing waits then.)
 */
export interface HeldText {
  /**
   * A text delta's events. While held, or dropped after the JSON answer, it is not shown but
   * counted (`hidden`): the model generated it, so a stream cut before its usage is charged for it.
   */
  text(text: string): StreamEvent[]
  /** The JSON tool was called: what was held is dropped, and so is any later text. */
  answered(): void
  /** What is held, as one content delta (counted already): before a client tool call or the finish. */
  release(): StreamEvent[]
}

export function heldText(jsonToolName: string | null | undefined): HeldText {
  const content = (text: string): StreamEvent[] => [{ type: 'delta', delta: { content: text } }]
  if (!jsonToolName) return { text: content, answered: () => {}, release: () => [] }
  let held = ''
  let answered = false
  return {
    text(text) {
      if (!answered) held += text
      return hiddenEvents(text)
    },
    answered() {
      answered = true
      held = ''
    },
    release() {
      const text = held
      held = ''
      return text ? [{ type: 'delta', delta: { content: text }, counted: true }] : []
    },
  }
}

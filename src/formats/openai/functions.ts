import * as z from 'zod'
import { GatewayError } from '../../errors'
import type { AssistantMessage as Answer, Delta, FinishReason } from '../canonical'
import type { WireFinishReason } from './render'
import { AllowedToolsChoice, allowedTools } from './allowed-tools'
import { CustomTool, CustomToolCall, CustomToolChoice, functionCalls, functionChoice, functionTools, isCustomChoice, NO_CUSTOM_TOOLS, onlyFunctionCalls } from './custom-tools'
import { AssistantMessage, ChatRequest, OTHER_MESSAGES, Tool, ToolCall, ToolChoice, ToolName, type Message } from './request'

/**
 * OpenAI's deprecated function calling (`functions`, `function_call`, the `function` role), which
 * older clients still send, served as the canonical tools so that every provider takes it: each
 * function is a tool, an assistant's `function_call` a tool call with a made id, a `function`
 * message that call's tool result. The answer's tool call goes back as `function_call`
 * (gateway/renderer.ts `chatRenderer`), with `finish_reason: "function_call"`.
 */

const LegacyFunction = z.looseObject({
  name: ToolName,
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
})
const FunctionCallChoice = z.union([z.enum(['none', 'auto']), z.looseObject({ name: z.string() })])
const FunctionMessage = z.looseObject({ role: z.literal('function'), name: z.string(), content: z.string().nullish() })
const AssistantCall = z.looseObject({ name: z.string(), arguments: z.string() })

/** An assistant turn that may give back calls of custom tools (./custom-tools). */
const IngressAssistant = AssistantMessage.extend({ tool_calls: z.array(z.discriminatedUnion('type', [ToolCall, CustomToolCall])).nullish() })

/**
 * The body of POST /chat/completions: a chat request, or one in the legacy function-calling form;
 * its tools may be custom (freeform) ones (./custom-tools), and its tool choice OpenAI's
 * `allowed_tools` (./allowed-tools).
 */
export const ChatCompletionsRequest = ChatRequest.extend({
  messages: z.array(z.discriminatedUnion('role', [...OTHER_MESSAGES, IngressAssistant, FunctionMessage])).min(1),
  tools: z.array(z.discriminatedUnion('type', [Tool, CustomTool])).nullish(),
  tool_choice: z.union([ToolChoice, AllowedToolsChoice, CustomToolChoice]).nullish(),
  functions: z.array(LegacyFunction).min(1).max(128).nullish(),
  function_call: FunctionCallChoice.nullish(),
})
export type ChatCompletionsRequest = z.infer<typeof ChatCompletionsRequest>
/** A turn once custom tool calls are function calls: the current kinds, or the legacy `function` role. */
type IngressMessage = Message | z.infer<typeof FunctionMessage>

const isAllowedTools = (choice: ChatCompletionsRequest['tool_choice']): choice is AllowedToolsChoice =>
  typeof choice === 'object' && choice !== null && choice.type === 'allowed_tools'

const isCurrent = (message: IngressMessage): message is Message =>
  message.role !== 'function' && !(message.role === 'assistant' && message.function_call != null)

/** How the answer to a chat completions request goes back (gateway/renderer.ts `chatRenderer`). */
export interface ChatAnswerForm {
  /** In the legacy form (`function_call`). */
  legacy: boolean
  /** The names of the request's custom tools, whose calls go back in the custom shape. */
  custom: ReadonlySet<string>
}

/**
 * The canonical request, and how its answer goes back: in the legacy form when the client sent
 * `functions`, or spoke the legacy form with no `tools` of its own (a legacy history beside current
 * `tools` is converted and answered as `tool_calls`); calls of custom tools in the custom shape.
 */
export function fromChatCompletions(body: ChatCompletionsRequest): { request: ChatRequest; answer: ChatAnswerForm } {
  const { functions, function_call: choice, messages: asked, tools: toolsAsked, tool_choice: choiceAsked, ...fields } = body
  const { tools: asFunctions, custom } = toolsAsked ? functionTools(toolsAsked) : { tools: toolsAsked, custom: NO_CUSTOM_TOOLS }
  const others = { ...fields, ...(asFunctions !== undefined ? { tools: asFunctions } : {}) }
  const toolChoiceAsked = isCustomChoice(choiceAsked) ? functionChoice(choiceAsked, custom) : choiceAsked
  const rest = isAllowedTools(toolChoiceAsked)
    ? { ...others, ...allowedTools(others.tools, toolChoiceAsked, custom) }
    : { ...others, ...(toolChoiceAsked !== undefined ? { tool_choice: toolChoiceAsked } : {}) }
  const messages = asked.map(withFunctionCalls)
  if (functions == null && choice == null && messages.every(isCurrent)) return { request: { ...rest, messages }, answer: { legacy: false, custom } }
  if ((functions != null || choice != null) && (rest.tools != null || rest.tool_choice != null)) {
    throw new GatewayError(400, 'invalid_request', 'Invalid request: send either tools and tool_choice or the deprecated functions and function_call, not both')
  }
  const converted = currentMessages(messages)
  const declared: Tool[] | null | undefined = functions?.map((fn) => ({ type: 'function', function: fn })) ?? rest.tools
  const tools = declared ?? historyTools(converted)
  let toolChoice: ToolChoice | null | undefined = rest.tool_choice
  if (choice != null) toolChoice = typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } }
  else if (declared == null) toolChoice = 'none'
  return {
    request: { ...rest, messages: converted, ...(tools.length ? { tools, ...(toolChoice != null ? { tool_choice: toolChoice } : {}) } : {}) },
    answer: { legacy: functions != null || rest.tools == null, custom },
  }
}

/** An assistant turn with its custom tool calls given back as function calls; any other turn as it is. */
function withFunctionCalls(message: ChatCompletionsRequest['messages'][number]): IngressMessage {
  if (message.role !== 'assistant' || onlyFunctionCalls(message)) return message
  return { ...message, tool_calls: functionCalls(message.tool_calls ?? []) }
}

/**
 * A follow-up that sends its calls' history but no tools (as OpenAI's own examples did with
 * `functions`, and as agents do to summarise or title a conversation): Anthropic and Bedrock
 * refuse tool calls and results without tool definitions, so each function called gets one, with
 * any arguments, and the choice is "none".
 */
export function historyTools(messages: Message[]): Tool[] {
  const names = new Set(messages.flatMap((message) => (message.role === 'assistant' ? (message.tool_calls ?? []).map((call) => call.function.name) : [])))
  return [...names].map((name) => ({ type: 'function', function: { name, parameters: { type: 'object' } } }))
}

/**
 * Messages with each legacy call made a tool call (id `call_fn_{index}`) and each `function`
 * message its result: the latest unanswered call of that name, else the latest unanswered call.
 * A result with no call left to answer is refused, as every provider would refuse it.
 */
function currentMessages(messages: IngressMessage[]): Message[] {
  const open: Array<{ id: string; name: string }> = []
  return messages.map((message, index): Message => {
    if (message.role === 'function') {
      let at = open.length - 1
      while (at >= 0 && open[at]!.name !== message.name) at--
      const call = open.splice(at >= 0 ? at : open.length - 1, 1)[0]
      if (!call) throw new GatewayError(400, 'invalid_request', `Invalid request: messages[${index}]: a function result with no assistant function_call before it to answer`)
      return { role: 'tool', tool_call_id: call.id, content: message.content ?? '' }
    }
    if (message.role !== 'assistant' || message.function_call == null) return message
    const parsed = AssistantCall.safeParse(message.function_call)
    if (!parsed.success) throw new GatewayError(400, 'invalid_request', `Invalid request: messages[${index}].function_call: must have a string name and arguments`)
    const { function_call: _legacy, ...assistant } = message
    const call: ToolCall = { id: `call_fn_${index}`, type: 'function', function: { name: parsed.data.name, arguments: parsed.data.arguments } }
    open.push({ id: call.id, name: call.function.name })
    return { ...assistant, tool_calls: [...(assistant.tool_calls ?? []), call] }
  })
}

/** A tool call delta as the legacy `function_call` delta (null: nothing left); calls past the first have no legacy place. */
export function legacyDelta({ tool_calls: calls, ...delta }: Delta): Delta | null {
  if (!calls) return delta
  const first = calls.find((call) => call.index === 0)
  if (!first?.function) return Object.keys(delta).length ? delta : null
  return { ...delta, function_call: { ...(first.function.name ? { name: first.function.name } : {}), arguments: first.function.arguments ?? '' } }
}

/** An answer's message with its (first) tool call as the legacy `function_call`. */
export function legacyMessage({ tool_calls: calls, ...message }: Answer): Answer {
  const first = calls?.[0]
  return first ? { ...message, function_call: { name: first.function.name, arguments: first.function.arguments } } : message
}

/** The finish reason a legacy client reads. */
export function legacyFinishReason(reason: FinishReason): WireFinishReason {
  return reason === 'tool_calls' ? 'function_call' : reason
}

import type * as z from 'zod'
import { invalidInput, type GatewayError } from '../../errors'
import { argumentsObject, ChatRequest, type ContentPart, type Message, type ResponseFormat, type Tool, type ToolCall, type ToolChoice } from '../openai/request'
import { isInterleaved, withBlockOrder, type BlockKind } from '../block-order'
import { customArguments, customToolFunction } from '../custom-tools'
import { reasoningDetails } from './reasoning-content'
import { ResponsesRequest, type AssistantPart, type InputPart, type ResponsesTool, type ResponsesToolChoice, type TextFormat } from './request'
import { responseOfItem, type ConcreteItem, type Resolved } from './stored'
import { appendAll } from '../../arrays'

const READ_FIELDS = new Set(Object.keys(ResponsesRequest.shape))
/** The canonical request's own checks, for the fields passed through. */
const PassedThrough = ChatRequest.omit({ messages: true })

/** A validated Responses request, its conversation resolved (./stored), → the canonical chat request. */
export function fromResponsesRequest(request: ResponsesRequest, conversation: Resolved): ChatRequest {
  const messages = toMessages([
    ...conversation.history.map((item) => ({ item, at: ['previous_response_id'] })),
    ...conversation.input.map((item, index) => ({ item, at: ['input', index] })),
  ])
  if (messages.length === 0) throw invalid(['input'], 'holds no message, function call or output: a reasoning item alone gives the model nothing to answer')
  if (request.instructions) messages.unshift({ role: 'system', content: request.instructions })
  const chat: ChatRequest = { ...passedThrough(request), model: request.model, messages, stream: request.stream ?? false }
  if (request.max_output_tokens != null) chat.max_tokens = request.max_output_tokens
  if (request.temperature != null) chat.temperature = request.temperature
  if (request.top_p != null) chat.top_p = request.top_p
  checkTools(request)
  // Without tools, chat upstreams refuse a tool choice or parallel calls; the Responses API ignores them.
  if (request.tools?.length) {
    const choice = request.tool_choice
    if (typeof choice === 'object' && choice?.type === 'allowed_tools') {
      const allowed = new Set(choice.tools.map((tool) => tool.name))
      chat.tools = request.tools.filter((tool) => allowed.has(tool.name)).map(toolOf)
      chat.tool_choice = choice.mode
    } else {
      chat.tools = request.tools.map(toolOf)
      if (choice != null) chat.tool_choice = toolChoiceOf(choice)
    }
    if (request.parallel_tool_calls != null) chat.parallel_tool_calls = request.parallel_tool_calls
  }
  const format = request.text?.format
  if (format) chat.response_format = responseFormatOf(format)
  if (request.text?.verbosity) chat.verbosity = request.text.verbosity
  // OpenRouter's unified `reasoning` is the canonical spelling; every upstream adapter reads it.
  // Claude's thinking shows only when a summary is asked for, as OpenAI's reasoning does.
  // max_output_tokens bounds reasoning and answer together, so Claude's budget is fitted under it.
  if (request.reasoning?.effort) {
    const bounded = request.max_output_tokens != null ? { within_max_tokens: true } : {}
    chat.reasoning = { effort: request.reasoning.effort, display: request.reasoning.summary ? 'summarized' : 'omitted', ...bounded }
  }
  if (request.user) chat.user = request.user
  if (request.models) chat.models = request.models
  if (request.provider) chat.provider = request.provider
  // `truncation: "auto"` drops input items from the middle of the conversation to fit the window,
  // which is what context compression does (routing/compression.ts). Its default, "disabled",
  // refuses it, unless the client asked in OpenRouter's words.
  if (request.truncation === 'auto') chat.transforms = ['middle-out']
  else if (chat.transforms == null && !chat.plugins?.some((plugin) => plugin.id === 'context-compression')) chat.transforms = []
  return chat
}

/** The fields this route does not read, checked as chat completions check them. */
function passedThrough(request: ResponsesRequest): Omit<ChatRequest, 'messages'> {
  const fields = Object.fromEntries(Object.entries(request).filter(([field]) => !READ_FIELDS.has(field)))
  if (!Object.keys(fields).length) return {}
  const parsed = PassedThrough.safeParse(fields)
  if (!parsed.success) throw invalidInput('request', parsed.error.issues)
  return parsed.data
}

/** What OpenAI refuses and other providers would only fail on later: tool names twice, a choice of no tool. */
function checkTools({ tools, tool_choice: choice }: ResponsesRequest): void {
  const names = new Set<string>()
  tools?.forEach((tool, index) => {
    if (names.has(tool.name)) throw invalid(['tools', index, 'name'], `the tool name "${tool.name}" is given twice`)
    names.add(tool.name)
  })
  if (choice === 'required' && !names.size) throw invalid(['tool_choice'], '"required" needs at least one tool in tools')
  if (typeof choice !== 'object' || choice === null) return
  if (choice.type !== 'allowed_tools') {
    if (!names.has(choice.name)) throw invalid(['tool_choice', 'name'], `no tool named "${choice.name}" in tools`)
    return
  }
  choice.tools.forEach((tool, index) => {
    if (!names.has(tool.name)) throw invalid(['tool_choice', 'tools', index, 'name'], `no tool named "${tool.name}" in tools`)
  })
}

function toolOf(tool: ResponsesTool): Tool {
  if (tool.type === 'custom') return customToolFunction({ ...tool, grammar: tool.format?.type === 'grammar' ? tool.format : null })
  const described = tool.description ? { description: tool.description } : {}
  const strict = tool.strict != null ? { strict: tool.strict } : {}
  return { type: 'function', function: { name: tool.name, ...described, parameters: tool.parameters ?? { type: 'object', properties: {} }, ...strict } }
}

function toolChoiceOf(choice: Exclude<z.infer<typeof ResponsesToolChoice>, { type: 'allowed_tools' }>): ToolChoice {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } }
}

function responseFormatOf(format: z.infer<typeof TextFormat>): ResponseFormat {
  if (format.type !== 'json_schema') return { type: format.type }
  const { name, schema, description, strict } = format
  return { type: 'json_schema', json_schema: { name, schema, ...(description ? { description } : {}), ...(strict != null ? { strict } : {}) } }
}

/**
 * A Responses `input` (a list of items) → canonical chat messages. Items are flat where chat nests
 * them: a function call is an item of its own, which joins the assistant message just before it
 * (or starts one); its output becomes a `tool` message; a reasoning item's text goes with the
 * assistant turn that follows it. Images and files in a function's output stay in its tool
 * message, for the upstream formats to place (../openai/tool-media.ts).
 */
function toMessages(items: readonly { item: ConcreteItem; at: Path }[]): Message[] {
  const messages: Message[] = []
  let reasoning: string[] = []
  let details: unknown[] = []
  /**
   * The assistant message that function calls join: the last message, if it is one; or the one
   * before its calls' outputs, for a call of the same response (a client sending each call back
   * followed by its output, as a loop over `response.output` does, still sends one turn's calls).
   */
  let assistant: Extract<Message, { role: 'assistant' }> | null = null
  /** The response the open assistant turn's items came from, when Meridian's own ids say it. */
  let assistantTurn: string | null = null
  /** Calls awaiting their output, by call_id, with where each stands: every provider needs them answered in turn. */
  const unanswered = new Map<string, Path>()
  const answerCalls = () => {
    const [callId, at] = unanswered.entries().next().value ?? []
    if (callId !== undefined) throw invalid(at!, `function_call "${callId}" has no function_call_output before the conversation goes on`)
  }

  /** Each assistant turn's blocks in the order its items came (Claude's interleaved thinking must go back so). */
  const orders = new Map<Extract<Message, { role: 'assistant' }>, TurnOrder>()
  const orderOf = (message: Extract<Message, { role: 'assistant' }>) => orders.get(message) ?? orders.set(message, { kinds: [], texts: [] }).get(message)!

  /** Reasoning items go with the assistant turn that follows them, also one they are in the middle of. */
  const withReasoning = (message: Extract<Message, { role: 'assistant' }>) => {
    if (reasoning.length) message.reasoning = [...(message.reasoning ? [message.reasoning] : []), ...reasoning].join('\n\n')
    if (details.length) message.reasoning_details = [...(Array.isArray(message.reasoning_details) ? message.reasoning_details : []), ...details]
    appendAll(orderOf(message).kinds, details.map((): BlockKind => 'reasoning'))
    reasoning = []
    details = []
  }
  const withText = (message: Extract<Message, { role: 'assistant' }>, text: unknown) => {
    if (typeof text !== 'string' || !text) return
    orderOf(message).kinds.push('text')
    orderOf(message).texts.push(text)
  }
  const startAssistant = (message: Extract<Message, { role: 'assistant' }>, turn: string | null) => {
    withReasoning(message)
    withText(message, message.content)
    messages.push(message)
    assistant = message
    assistantTurn = turn
  }

  items.forEach(({ item, at }) => {
    switch (item.type) {
      case 'reasoning':
        appendAll(reasoning, (item.content?.length ? item.content : (item.summary ?? [])).map((part) => part.text).filter(Boolean))
        appendAll(details, reasoningDetails(item.encrypted_content))
        return
      case 'function_call':
      case 'custom_tool_call': {
        unanswered.set(item.call_id, at)
        const args = item.type === 'function_call' ? callArguments(item, at) : customArguments(item.input)
        const call: ToolCall = { id: item.call_id, type: 'function', function: { name: item.name, arguments: args } }
        const turn = responseOfItem(item.id)
        // After the assistant message come only its calls' outputs (a user message closes it).
        if (assistant && (messages.at(-1) === assistant || (turn !== null && turn === assistantTurn))) {
          withReasoning(assistant)
          assistant.tool_calls = [...(assistant.tool_calls ?? []), call]
        } else startAssistant({ role: 'assistant', content: null, tool_calls: [call] }, turn)
        orderOf(assistant!).kinds.push('tool')
        return
      }
      case 'function_call_output':
      case 'custom_tool_call_output': {
        if (!unanswered.delete(item.call_id)) throw invalid([...at, 'call_id'], `no function_call with call_id "${item.call_id}" awaits this output`)
        if (typeof item.output === 'string') {
          messages.push({ role: 'tool', tool_call_id: item.call_id, content: item.output })
          return
        }
        const parts = item.output.map((part, j) => contentPart(part, [...at, 'output', j]))
        const texts = parts.flatMap((part) => (part.type === 'text' ? [part.text] : []))
        messages.push({ role: 'tool', tool_call_id: item.call_id, content: texts.length === parts.length ? texts.join('') : parts })
        return
      }
      case 'message':
        // Text between the calls of one turn (a stream's output: text, call, text, call) joins that turn.
        if (item.role === 'assistant' && assistant && messages.at(-1) === assistant && unanswered.size > 0) {
          const later = assistantMessage(item.content)
          withReasoning(assistant)
          withText(assistant, later.content)
          joinText(assistant, later)
          return
        }
        answerCalls()
        if (item.role === 'assistant') {
          startAssistant(assistantMessage(item.content), responseOfItem(item.id))
          return
        }
        assistant = null
        if (item.role === 'user') {
          const content = typeof item.content === 'string' ? item.content : item.content.map((part, j) => contentPart(part, [...at, 'content', j]))
          messages.push({ role: 'user', content })
        } else {
          const content = typeof item.content === 'string' ? item.content : item.content.map((part) => part.text).join('')
          messages.push({ role: item.role, content })
        }
    }
  })
  answerCalls()
  for (const [message, order] of orders) keepOrder(message, order)
  return messages
}

/** An assistant turn's blocks as its items came, and its texts one by one. */
interface TurnOrder {
  kinds: BlockKind[]
  texts: string[]
}

/**
 * A turn that starts with reasoning, as Claude's do, and has more after other blocks carries its
 * order (../block-order.ts), its texts too while its content is them joined. Any other goes
 * reasoning-first: Anthropic refuses a thinking turn that does not start with its thinking.
 */
function keepOrder(message: Extract<Message, { role: 'assistant' }>, { kinds, texts }: TurnOrder): void {
  if (kinds[0] !== 'reasoning' || !isInterleaved(kinds)) return
  const joined = texts.join('')
  withBlockOrder(message, texts.length > 1 && message.content === joined ? { kinds, texts: { blocks: texts, joined } } : { kinds })
}

/** A turn's later text added to its message, which holds its calls: text and refusal each joined on. */
function joinText(turn: Extract<Message, { role: 'assistant' }>, later: Extract<Message, { role: 'assistant' }>): void {
  const text = [turn.content, later.content].filter((content): content is string => typeof content === 'string' && content !== '').join('')
  turn.content = text || null
  if (later.refusal) turn.refusal = `${turn.refusal ?? ''}${later.refusal}`
}

function assistantMessage(content: string | AssistantPart[]): Extract<Message, { role: 'assistant' }> {
  if (typeof content === 'string') return { role: 'assistant', content }
  const text = content.flatMap((part) => (part.type === 'refusal' ? [] : [part.text])).join('')
  const refusal = content.flatMap((part) => (part.type === 'refusal' ? [part.refusal] : [])).join('')
  // An empty answer given back (Meridian's own output_text "" among them) is "", not null: chat
  // upstreams take null only beside tool calls, and a call that joins this message may not follow.
  return { role: 'assistant', content: text || (refusal ? null : ''), ...(refusal ? { refusal } : {}) }
}

function contentPart(part: InputPart, at: Path): ContentPart {
  switch (part.type) {
    case 'input_text':
      return { type: 'text', text: part.text }
    case 'input_image': {
      if (!part.image_url) throw invalid(at, 'an input_image needs image_url (a URL or a data URL)')
      // Chat completions' detail stops at high: `original` (no downscaling) is the nearest there.
      const detail = part.detail === 'original' ? 'high' : part.detail
      return { type: 'image_url', image_url: { url: part.image_url, ...(detail ? { detail } : {}) } }
    }
    case 'input_file': {
      const data = part.file_data ?? part.file_url
      if (!data) throw invalid(at, 'an input_file needs file_data (a data URL) or file_url')
      // OpenAI-format upstreams want a filename with the bytes.
      const filename = part.filename ?? (data.startsWith('data:application/pdf') ? 'document.pdf' : 'document')
      return { type: 'file', file: { filename, file_data: data } }
    }
    case 'input_audio':
      return { type: 'input_audio', input_audio: part.input_audio }
  }
}

/** Where in the request a problem stands, as zod names it. */
type Path = (string | number)[]

/** A 400 naming the field, as a schema violation's is. */
function invalid(path: Path, message: string): GatewayError {
  return invalidInput('request', [{ path, message }])
}

/**
 * A call's arguments, a JSON object. A call a response cut off inside its arguments (`incomplete`:
 * the output limit, a failure) goes on as a call without them, so a conversation that holds it,
 * sent back whole or by `previous_response_id`, can be continued.
 */
function callArguments(item: Extract<ConcreteItem, { type: 'function_call' }>, at: (string | number)[]): string {
  if (argumentsObject(item.arguments)) return item.arguments
  if (item.status === 'incomplete') return '{}'
  throw invalid([...at, 'arguments'], 'must be a JSON object, as a string')
}

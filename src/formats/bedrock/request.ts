import { GatewayError } from '../../errors'
import { mapParameters, type ParameterRule } from '../../providers/parameters'
import { textOf, type ChatRequest, type ContentPart, type Message, type ToolChoice, toolCallArguments } from '../openai/request'

/**
 * Canonical (OpenAI) chat request → Bedrock Converse body. System and developer messages become
 * `system`; the rest become `messages` whose roles alternate user/assistant (Converse rejects two
 * turns of one role, so neighbours merge). The model goes in the URL, so the body has none.
 */

type Body = Record<string, unknown>
type Block = Record<string, unknown>
type Turn = { role: 'user' | 'assistant'; content: Block[] }

/** OpenAI sampling parameters → `inferenceConfig` (OpenAI's ranges fit Converse's; nothing is clamped). */
const INFERENCE: readonly ParameterRule[] = [
  { param: 'temperature' },
  { param: 'top_p', to: 'topP' },
  { param: 'stop', to: 'stopSequences', transform: (value) => (Array.isArray(value) ? value : [value]) },
]

const IMAGE_FORMATS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' }
const DATA_URL = /^data:([^;,]+);base64,(.*)$/s

export function toBedrock(request: ChatRequest, options: { maxTokens?: number } = {}): Body {
  const system: Block[] = []
  const messages: Turn[] = []
  const append = (role: Turn['role'], content: Block[]) => {
    const last = messages.at(-1)
    if (last?.role === role) last.content.push(...content)
    else if (content.length) messages.push({ role, content })
  }
  request.messages.forEach((message, index) => {
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOf(message.content)
        if (text) system.push({ text })
        return
      }
      case 'user':
        return append('user', userBlocks(message.content, index))
      case 'assistant':
        return append('assistant', assistantBlocks(message, index))
      case 'tool':
        return append('user', [{ toolResult: { toolUseId: message.tool_call_id, content: [{ text: textOf(message.content) }] } }])
    }
  })
  const body: Body = {}
  if (system.length) body.system = system
  body.messages = messages
  const inferenceConfig = mapParameters(request, INFERENCE, options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens })
  if (Object.keys(inferenceConfig).length) body.inferenceConfig = inferenceConfig
  const toolConfig = bedrockTools(request)
  if (toolConfig) body.toolConfig = toolConfig
  return body
}

function userBlocks(content: string | ContentPart[], index: number): Block[] {
  if (typeof content === 'string') return content ? [{ text: content }] : []
  return content.flatMap((part, partIndex): Block[] => {
    const where = `messages[${index}].content[${partIndex}]`
    if (part.type === 'text') return part.text ? [{ text: part.text }] : []
    if (part.type === 'image_url') return [imageBlock(part.image_url.url, where)]
    throw new GatewayError(400, 'invalid_request', `${where}: "${part.type}" parts are not supported by Bedrock Converse models`)
  })
}

// Converse takes image bytes only (or S3 locations); it does not fetch http(s) URLs.
function imageBlock(url: string, where: string): Block {
  const data = DATA_URL.exec(url)
  if (!data) throw new GatewayError(400, 'invalid_request', `${where}: Bedrock Converse takes images only as base64 data: URLs, not http(s) URLs`)
  const format = IMAGE_FORMATS[data[1]!.toLowerCase()]
  if (!format) throw new GatewayError(400, 'invalid_request', `${where}: image type "${data[1]}" is not supported by Bedrock Converse (png, jpeg, gif, webp)`)
  return { image: { format, source: { bytes: data[2] } } }
}

function assistantBlocks(message: Extract<Message, { role: 'assistant' }>, index: number): Block[] {
  const text = message.content == null ? '' : typeof message.content === 'string' ? message.content : message.content.map((part) => (part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : '')).join('')
  const calls = (message.tool_calls ?? []).map((call) => ({
    toolUse: { toolUseId: call.id, name: call.function.name, input: toolCallArguments(call.function.arguments, index) },
  }))
  // Converse rejects blank text blocks, which assistant turns with only tool calls often carry.
  return [...(text.trim() ? [{ text }] : []), ...calls]
}


/**
 * `tool_choice: "none"` has no Converse equivalent; the tools are still declared (earlier toolUse
 * blocks need them) and the choice is left to the model.
 */
function bedrockTools(request: ChatRequest): Body | null {
  const tools = request.tools ?? []
  if (!tools.length) return null
  const specs = tools.map(({ function: fn }) => ({
    toolSpec: {
      name: fn.name,
      ...(fn.description ? { description: fn.description } : {}),
      inputSchema: { json: fn.parameters ?? { type: 'object', properties: {} } },
    },
  }))
  const toolChoice = request.tool_choice ? choiceOf(request.tool_choice) : null
  return { tools: specs, ...(toolChoice ? { toolChoice } : {}) }
}

function choiceOf(choice: ToolChoice): Body | null {
  if (typeof choice !== 'string') return { tool: { name: choice.function.name } }
  if (choice === 'required') return { any: {} }
  return choice === 'auto' ? { auto: {} } : null
}

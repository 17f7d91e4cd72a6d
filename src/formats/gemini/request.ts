import { GatewayError } from '../../errors'
import { OPENING_TURN } from '../canonical'
import { textOf, type ChatRequest, type Message, toolCallArguments, withRefusalAsContent } from '../openai/request'
import { generationConfig, type GenerationOptions } from './generation'
import { named, textParts, userParts, type GeminiPart } from './parts'
import { SKIP_SIGNATURE, signaturesOf } from './signatures'
import { geminiTools } from './tools'
import { appendAll } from '../../arrays'

/**
 * Canonical (OpenAI) chat request → Gemini `GenerateContentRequest` body. System and developer
 * messages become `systemInstruction`; the rest become `contents` with roles `user` and `model`.
 * Gemini takes the model from the URL, so the body has none.
 */

type Body = Record<string, unknown>
type Turn = { role: 'user' | 'model'; parts: GeminiPart[] }
type AssistantMessage = Extract<Message, { role: 'assistant' }>

export function toGemini(request: ChatRequest, options: GenerationOptions = {}): Body {
  const { system, contents } = convertMessages(request.messages)
  const body: Body = {}
  if (system.length) body.systemInstruction = { parts: system }
  body.contents = contents
  Object.assign(body, geminiTools(request))
  const config = generationConfig(request, options)
  if (Object.keys(config).length) body.generationConfig = config
  return body
}

function convertMessages(messages: Message[]): { system: GeminiPart[]; contents: Turn[] } {
  const system: GeminiPart[] = []
  const contents: Turn[] = []
  // Tool results name their function only by call id; Gemini wants the name itself, and pairs
  // results with a turn's calls by position: each call's place in its turn orders the results.
  const toolCalls = new Map<string, { name: string; place: number }>()
  // Same-role neighbours become one turn: parallel calls must be answered in a single user turn.
  const append = (role: Turn['role'], parts: GeminiPart[]) => {
    const last = contents.at(-1)
    if (last?.role === role) appendAll(last.parts, parts)
    else if (parts.length) contents.push({ role, parts })
  }
  // A run of results goes in its calls' order (clients may answer parallel calls in any order);
  // their images and files (Gemini's function responses hold text) follow it.
  let results: { place: number; part: GeminiPart }[] = []
  let media: GeminiPart[] = []
  const flushResults = () => {
    append('user', results.sort((a, b) => a.place - b.place).map((result) => result.part))
    append('user', media)
    results = []
    media = []
  }
  messages.forEach((message, index) => {
    if (message.role !== 'tool') flushResults()
    switch (message.role) {
      case 'system':
      case 'developer':
        appendAll(system, textParts(message.content))
        return
      case 'user':
        return append('user', named(message.name, userParts(message.content, index)))
      case 'assistant':
        for (const [place, call] of (message.tool_calls ?? []).entries()) toolCalls.set(call.id, { name: call.function.name, place })
        return append('model', modelParts(message, index))
      case 'tool': {
        const call = toolCalls.get(message.tool_call_id)
        if (!call) {
          throw new GatewayError(400, 'invalid_request', `messages[${index}]: tool_call_id "${message.tool_call_id}" matches no earlier assistant tool call`)
        }
        // A failed call's result (Anthropic's `is_error`) goes under `error`, as Gemini's own function results do.
        const response = message.is_error ? { error: textOf(message.content) } : { content: textOf(message.content) }
        results.push({ place: call.place, part: { functionResponse: { name: call.name, response } } })
        if (typeof message.content !== 'string') appendAll(media, userParts(message.content, index).filter((part) => !('text' in part)))
        return
      }
    }
  })
  flushResults()
  // A system prompt alone: Gemini takes no empty contents.
  if (contents.length === 0) contents.push({ role: 'user', parts: [{ text: OPENING_TURN }] })
  return { system, contents }
}

function modelParts(turn: AssistantMessage, index: number): GeminiPart[] {
  const message = withRefusalAsContent(turn)
  const parts: GeminiPart[] = []
  const content = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content ?? []
  for (const [partIndex, part] of content.entries()) {
    const text = part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : undefined
    if (typeof text !== 'string') {
      throw new GatewayError(400, 'invalid_request', `messages[${index}].content[${partIndex}]: "${part.type}" parts are not supported by Gemini models`)
    }
    if (text) parts.push({ text })
  }
  const signatures = signaturesOf(message.reasoning_details)
  const calls = (message.tool_calls ?? []).map((call): GeminiPart => {
    const signature = signatures.get(call.id)
    return {
      functionCall: { name: call.function.name, args: toolCallArguments(call.function.arguments, index) },
      ...(signature ? { thoughtSignature: signature } : {}),
    }
  })
  // Gemini signs only the first of parallel calls; without any signature the first gets the stand-in.
  const first = calls[0]
  if (first && !calls.some((call) => call.thoughtSignature)) first.thoughtSignature = SKIP_SIGNATURE
  return named(message.name, [...parts, ...calls])
}


import * as z from 'zod'
import { ProviderPreferences } from '../../routing/preferences'
import { FallbackModels, ModelId, ToolName } from '../openai/request'

/**
 * OpenAI Responses API requests (POST /v1/responses: `@ai-sdk/openai`'s default, the openai SDK's
 * `responses.create`, Codex-style agents), validated at the boundary and converted to the
 * canonical (chat) request, so any catalog model can answer them.
 *
 * Responses created with `store` on are kept for `previous_response_id` and `item_reference`
 * (./stored). What needs other stored state (`conversation`, `file_id`, stored prompts,
 * background runs) is refused with a 400 that says what to send instead, and so are tools
 * Meridian would have to run itself (web search, file search, code interpreter…).
 */

const NOT_STORED = 'Meridian stores no files, conversations or prompts: send their content in `input`'

/** Why a tool other than a function or custom one, or its items, is refused. */
const NOT_TRANSLATED = 'Meridian runs no built-in tools (web search, file search, code interpreter…), and does not yet translate local_shell tools for other providers'

/** A field that needs state Meridian does not keep: accepted only when absent or null. */
const stateful = (field: string) => z.null({ error: `${field} is not supported. ${NOT_STORED}` }).optional()

const InputText = z.object({ type: z.literal('input_text'), text: z.string() })
const InputImage = z.object({
  type: z.literal('input_image'),
  image_url: z.string().min(1, 'must not be empty').nullish(),
  file_id: stateful('file_id'),
  detail: z.enum(['auto', 'low', 'high', 'original']).nullish(),
})
const InputFile = z.object({
  type: z.literal('input_file'),
  file_data: z.string().min(1, 'must not be empty').nullish(),
  file_url: z.string().min(1, 'must not be empty').nullish(),
  filename: z.string().nullish(),
  file_id: stateful('file_id'),
})
const InputAudio = z.object({ type: z.literal('input_audio'), input_audio: z.object({ data: z.string(), format: z.string() }) })
export const InputPart = z.discriminatedUnion('type', [InputText, InputImage, InputFile, InputAudio], {
  error: 'content parts must be input_text, input_image, input_file or input_audio',
})
export type InputPart = z.infer<typeof InputPart>

const OutputText = z.object({ type: z.literal('output_text'), text: z.string() })
const OutputRefusal = z.object({ type: z.literal('refusal'), refusal: z.string() })
/** An assistant turn's parts; some clients send their own earlier turns as input_text. */
const AssistantPart = z.discriminatedUnion('type', [OutputText, OutputRefusal, InputText], {
  error: 'assistant content parts must be output_text or refusal',
})
export type AssistantPart = z.infer<typeof AssistantPart>

/** An item's own id (an earlier answer's, sent back): the same item may not come twice in a conversation (./stored). */
const ItemId = z.string().nullish()

const MessageItem = z.discriminatedUnion('role', [
  z.object({ type: z.literal('message'), id: ItemId, role: z.literal('user'), content: z.union([z.string(), z.array(InputPart)]) }),
  z.object({ type: z.literal('message'), id: ItemId, role: z.enum(['system', 'developer']), content: z.union([z.string(), z.array(InputText)]) }),
  z.object({ type: z.literal('message'), id: ItemId, role: z.literal('assistant'), content: z.union([z.string(), z.array(AssistantPart)]) }),
])
const FunctionCallItem = z.object({
  type: z.literal('function_call'),
  id: ItemId,
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  /** As a response gave it: `incomplete` for a call cut off inside its arguments (to-chat.ts). */
  status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
})
const FunctionCallOutputItem = z.object({
  type: z.literal('function_call_output'),
  id: ItemId,
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(InputPart)]),
})
/** A call of a custom (freeform) tool, such as Codex's apply_patch: its input is plain text. */
const CustomToolCallItem = z.object({ type: z.literal('custom_tool_call'), id: ItemId, call_id: z.string().min(1), name: z.string().min(1), input: z.string() })
const CustomToolCallOutputItem = FunctionCallOutputItem.extend({ type: z.literal('custom_tool_call_output') })
const SummaryText = z.object({ type: z.literal('summary_text'), text: z.string() })
const ReasoningText = z.object({ type: z.literal('reasoning_text'), text: z.string() })
/**
 * A model's earlier reasoning: its summary and text travel, and so does encrypted content of
 * Meridian's own (./reasoning-content); another issuer's is dropped.
 */
const ReasoningItem = z.object({
  type: z.literal('reasoning'),
  id: ItemId,
  summary: z.array(SummaryText).nullish(),
  content: z.array(ReasoningText).nullish(),
  encrypted_content: z.string().nullish(),
})
/** An output item of a stored response, resolved before conversion (./stored). */
const ItemReference = z.object({ type: z.literal('item_reference'), id: z.string().nullish() })

/** Easy input messages (`{ role, content }`) are message items without the `type`. */
export const Item = z.preprocess(
  (item) => (typeof item === 'object' && item !== null && !('type' in item) && 'role' in item ? { ...item, type: 'message' } : item),
  z.discriminatedUnion('type', [MessageItem, FunctionCallItem, FunctionCallOutputItem, CustomToolCallItem, CustomToolCallOutputItem, ReasoningItem, ItemReference], {
    error: `input items must be messages, function or custom tool calls and their outputs, or reasoning: ${NOT_TRANSLATED}`,
  }),
)
export type Item = z.infer<typeof Item>

const FunctionTool = z.object({
  type: z.literal('function'),
  name: ToolName,
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
})
/**
 * A custom tool takes free text instead of JSON arguments, optionally following a grammar (Codex's
 * apply_patch). Other providers have no such tools, so it is offered as a function of one string
 * parameter, `input`, with the grammar in its description (to-chat), and its calls are answered as
 * custom tool calls again (render, stream).
 */
const CustomTool = z.object({
  type: z.literal('custom'),
  name: ToolName,
  description: z.string().nullish(),
  format: z
    .discriminatedUnion('type', [z.object({ type: z.literal('text') }), z.object({ type: z.literal('grammar'), syntax: z.string(), definition: z.string() })])
    .nullish(),
})
export type ResponsesTool = z.infer<typeof FunctionTool> | z.infer<typeof CustomTool>

/** The names of the request's custom tools: calls of these are answered as custom tool calls. */
export function customToolNames(request: { tools?: ResponsesTool[] | null }): ReadonlySet<string> {
  return new Set((request.tools ?? []).flatMap((tool) => (tool.type === 'custom' ? [tool.name] : [])))
}

/** OpenAI's `allowed_tools`: served as the tools it lists, in its mode (see formats/openai/allowed-tools.ts). */
const AllowedTools = z.object({
  type: z.literal('allowed_tools'),
  mode: z.enum(['auto', 'required']),
  tools: z.array(z.looseObject({ type: z.enum(['function', 'custom']), name: z.string().min(1) })).min(1),
})

export const ResponsesToolChoice = z.union(
  [z.enum(['none', 'auto', 'required']), z.object({ type: z.enum(['function', 'custom']), name: z.string().min(1) }), AllowedTools],
  {
    error:
      'must be "none", "auto", "required", { type: "function" or "custom", name } or { type: "allowed_tools", mode, tools }: only function and custom tools are supported',
  },
)

export const TextFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    name: z.string().min(1),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
])

/**
 * Fields this route reads or refuses. Any other field passes through to the canonical request, as
 * unknown parameters do on chat completions: the two APIs share most names (`prompt_cache_key`,
 * `safety_identifier`, `seed`…), so OpenAI-format upstreams receive them (less what chat
 * completions never send on, such as `service_tier`).
 */
export const ResponsesRequest = z.looseObject({
  model: ModelId.nullish(),
  /** A string is one user message. */
  input: z.preprocess(
    (input) => (typeof input === 'string' ? [{ role: 'user', content: input }] : input),
    z.array(Item, { error: (issue) => (issue.code === 'invalid_type' ? 'must be a string or a list of items' : undefined) }).min(1, 'must hold at least one item'),
  ),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  tools: z.array(z.discriminatedUnion('type', [FunctionTool, CustomTool], { error: `only function and custom tools are supported: ${NOT_TRANSLATED}` })).nullish(),
  tool_choice: ResponsesToolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.object({ format: TextFormat.nullish(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).nullish(),
  reasoning: z
    .object({
      effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']).nullish(),
      summary: z.enum(['auto', 'concise', 'detailed']).nullish(),
    })
    .nullish(),
  user: z.string().max(256).nullish(),
  // Read and not passed on. `metadata` is echoed; chat's own `store` and `metadata` would have an
  // OpenAI upstream store the completion, and `top_logprobs` needs a `logprobs` Meridian does not
  // render. The rest belong to the Responses API alone (Codex sends `client_metadata`): a chat
  // upstream that refuses unknown fields would refuse the request.
  metadata: z.record(z.string(), z.string()).nullish(),
  /** Whether Meridian keeps the response (./stored); on unless false, as at OpenAI. */
  store: z.boolean().nullish(),
  include: z.array(z.string()).nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  max_tool_calls: z.number().int().positive().nullish(),
  stream_options: z.looseObject({}).nullish(),
  client_metadata: z.unknown().optional(),
  context_management: z.unknown().optional(),
  /**
   * "auto" drops input items from the middle of the conversation when it is too long for every
   * provider (context compression, routing/compression.ts); "disabled" answers the
   * context_length_exceeded 400 instead.
   */
  truncation: z.enum(['disabled', 'auto']).nullish(),
  background: z.literal(false, { error: 'background responses are not supported: Meridian answers while the request is open' }).nullish(),
  /** A stored response this one continues: its input and output come before this `input`. */
  previous_response_id: z.string().min(1, 'must not be empty').nullish(),
  conversation: stateful('conversation'),
  prompt: stateful('prompt (a stored prompt template)'),
  // OpenRouter's gateway extras work on this route too.
  models: FallbackModels.nullish(),
  provider: ProviderPreferences.nullish(),
})
export type ResponsesRequest = z.infer<typeof ResponsesRequest>

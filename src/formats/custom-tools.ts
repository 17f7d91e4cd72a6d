import type { Tool } from './openai/request'

/**
 * Custom (freeform) tools, such as Codex's apply_patch, take plain text instead of JSON arguments;
 * OpenAI offers them on the Responses API and on chat completions. Providers other than OpenAI have
 * no such tools, so each is offered as a function of one string parameter, `input`, with its
 * grammar (if any) in the description; a call of it comes back as a custom tool call with that
 * text. This is the one place that mapping lives; each wire format reads its own spelling of the
 * tool into `CustomToolSpec`.
 */

export interface CustomToolSpec {
  name: string
  description?: string | null
  /** A grammar the input must follow (OpenAI's `format: {type: "grammar"}`), or none for free text. */
  grammar?: { syntax: string; definition: string } | null
}

export function customToolFunction(tool: CustomToolSpec): Tool {
  const format = tool.grammar ? `\n\nThe input must follow this ${tool.grammar.syntax} grammar:\n${tool.grammar.definition}` : ''
  return {
    type: 'function',
    function: {
      name: tool.name,
      description: `${tool.description ?? ''}${format}`.trim() || `The ${tool.name} tool`,
      parameters: {
        type: 'object',
        properties: { input: { type: 'string', description: "The tool's whole input, as plain text" } },
        required: ['input'],
        additionalProperties: false,
      },
    },
  }
}

/** A custom tool call's text as the function's arguments. */
export const customArguments = (input: string): string => JSON.stringify({ input })

/**
 * The text of a custom tool's call, from the function's arguments: none for `{}` (a call made
 * without any, given `{}` as every such call is); arguments of any other shape are taken as the text.
 */
export function customInput(args: string): string {
  try {
    const parsed: unknown = JSON.parse(args)
    if (typeof parsed === 'object' && parsed !== null && 'input' in parsed && typeof parsed.input === 'string') return parsed.input
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.keys(parsed).length === 0) return ''
  } catch {
    // not JSON: the model wrote the text itself
  }
  return args
}

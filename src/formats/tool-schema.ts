/**
 * A tool's input schema as Anthropic and Bedrock Converse take it: an object schema that says so.
 * OpenAI takes `{}` or bare `properties` as one (MCP servers and Codex send them); Anthropic
 * answers 400 "input_schema.type: Field required".
 */
export function objectSchema(schema: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!schema) return { type: 'object', properties: {} }
  return 'type' in schema ? schema : { type: 'object', ...schema }
}

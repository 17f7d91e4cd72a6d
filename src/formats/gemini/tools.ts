import type { ChatRequest, ToolChoice } from '../openai/request'

/**
 * OpenAI tools → Gemini `tools[].functionDeclarations` and `toolConfig`. Gemini's `parameters`
 * is its own Schema object (an OpenAPI subset) that rejects unknown fields, so client JSON
 * schemas are narrowed to the fields it has.
 */

type Schema = Record<string, unknown>

/**
 * The fields of Gemini's Schema object. Everything else is dropped, notably `$schema`, `$id`,
 * `$ref`, `$defs`/`definitions`, `additionalProperties`, `patternProperties`, `allOf`, `not`,
 * `exclusiveMinimum`/`exclusiveMaximum`, `multipleOf`, `examples` and `strict`. `oneOf` becomes
 * `anyOf`, `const` a one-value `enum`, and `type: [T, "null"]` becomes `type: T, nullable: true`.
 */
const SCHEMA_FIELDS = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'items', 'minItems', 'maxItems',
  'properties', 'required', 'minProperties', 'maxProperties', 'propertyOrdering', 'minLength',
  'maxLength', 'pattern', 'minimum', 'maximum', 'default', 'example', 'anyOf',
])

export function toGeminiSchema(schema: unknown): Schema {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return {}
  const source: Schema = { ...schema }
  if (source.oneOf !== undefined && source.anyOf === undefined) source.anyOf = source.oneOf
  if (source.const !== undefined && source.enum === undefined) source.enum = [source.const]
  const out: Schema = {}
  for (const [key, value] of Object.entries(source)) {
    if (!SCHEMA_FIELDS.has(key)) continue
    if (key === 'type' && Array.isArray(value)) {
      const types = value.filter((type) => type !== 'null')
      if (types.length < value.length) out.nullable = true
      if (types.length) out.type = types[0]
    } else if (key === 'properties') {
      const properties = propertiesOf(value)
      if (properties) out.properties = properties
    } else if (key === 'items') {
      out.items = toGeminiSchema(value)
    } else if (key === 'anyOf' && Array.isArray(value)) {
      out.anyOf = value.map(toGeminiSchema)
    } else {
      out[key] = value
    }
  }
  return out
}

// Gemini rejects an OBJECT whose `properties` is present but empty, so empty maps are left out.
function propertiesOf(value: unknown): Schema | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
  const entries = Object.entries(value).map(([name, schema]) => [name, toGeminiSchema(schema)] as const)
  return entries.length ? Object.fromEntries(entries) : null
}

export function geminiTools(request: ChatRequest): { tools?: Schema[]; toolConfig?: Schema } {
  const tools = request.tools ?? []
  if (!tools.length) return {}
  const functionDeclarations = tools.map(({ function: fn }) => {
    const parameters = fn.parameters ? toGeminiSchema(fn.parameters) : {}
    return {
      name: fn.name,
      ...(fn.description ? { description: fn.description } : {}),
      // A function without arguments is declared without `parameters` (an empty OBJECT is rejected).
      ...(parameters.properties ? { parameters } : {}),
    }
  })
  const toolConfig = request.tool_choice ? { functionCallingConfig: functionCallingConfig(request.tool_choice) } : undefined
  return { tools: [{ functionDeclarations }], ...(toolConfig ? { toolConfig } : {}) }
}

function functionCallingConfig(choice: ToolChoice): Schema {
  if (typeof choice !== 'string') return { mode: 'ANY', allowedFunctionNames: [choice.function.name] }
  return { mode: { auto: 'AUTO', required: 'ANY', none: 'NONE' }[choice] }
}

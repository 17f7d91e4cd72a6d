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
  return withGeminiConstraints(out)
}

/** The formats Gemini's Schema takes: `enum` and `date-time` on strings, the widths of numbers. */
const FORMATS = new Set(['enum', 'date-time', 'int32', 'int64', 'float', 'double'])

/**
 * Gemini refuses other string formats (`uri`, `email`: "only 'enum' and 'date-time' are supported
 * for STRING type") and an enum on any type but STRING. Such a format is dropped; such an enum
 * goes into the description, so the model still learns the allowed values.
 */
function withGeminiConstraints(schema: Schema): Schema {
  if (typeof schema.format === 'string' && !FORMATS.has(schema.format)) delete schema.format
  const values = schema.enum
  if (!Array.isArray(values)) return schema
  const strings = values.every((value) => typeof value === 'string')
  if (strings && (schema.type === undefined || schema.type === 'string')) return { ...schema, type: 'string' }
  delete schema.enum
  const allowed = `One of: ${values.map((value) => JSON.stringify(value)).join(', ')}.`
  schema.description = typeof schema.description === 'string' && schema.description ? `${schema.description} ${allowed}` : allowed
  return schema
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

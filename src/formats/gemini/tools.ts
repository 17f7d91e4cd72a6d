import type { ChatRequest, ToolChoice } from '../openai/request'

/**
 * OpenAI tools → Gemini `tools[].functionDeclarations` and `toolConfig`. Gemini's `parameters`
 * is its own Schema object (an OpenAPI subset) that rejects unknown fields, so client JSON
 * schemas are narrowed to the fields it has.
 */

type Schema = Record<string, unknown>

/**
 * The fields of Gemini's Schema object. Local `$ref`s are written out first (`expanded`); everything
 * else is dropped, notably `$schema`, `$id`, `$defs`/`definitions`, `additionalProperties`, `patternProperties`, `allOf`, `not`,
 * `exclusiveMinimum`/`exclusiveMaximum`, `multipleOf`, `examples` and `strict`. `oneOf` becomes
 * `anyOf`, `const` a one-value `enum`, and `type: [T, "null"]` becomes `type: T, nullable: true`.
 */
const SCHEMA_FIELDS = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'items', 'minItems', 'maxItems',
  'properties', 'required', 'minProperties', 'maxProperties', 'propertyOrdering', 'minLength',
  'maxLength', 'pattern', 'minimum', 'maximum', 'default', 'example', 'anyOf',
])

/** `budget` is shared by a request's tools, so that together they write out at most MAX_WRITTEN_NODES, and no more characters than it allows. */
export function toGeminiSchema(schema: unknown, budget: Budget = { nodes: 0, characters: Number.POSITIVE_INFINITY }): Schema {
  if (!isSchema(schema)) return {}
  return narrowed(schema, { root: schema, budget }, [])
}

/**
 * The schema a tool's `$ref`s point into (`#/$defs/X`, `#/definitions/X`, `#/properties/a/…`, as
 * pydantic, zod-to-json-schema and MCP servers write them), which Gemini's Schema cannot hold: each
 * is written out in place. A reference within its own expansion (a tree of nodes) is cut to a bare
 * OBJECT there, and so is every reference met once the request's references have written out
 * MAX_WRITTEN_NODES nodes, or as many characters of definitions as the request's tools hold: a
 * definition used many times over, or a wide one used widely, would otherwise make a small request
 * an upstream body hundreds of times its size, billed far past what its reservation counted (the
 * prompt's bound counts tools that hold a `$ref` twice: formats/openai/estimate.ts).
 */
interface References {
  root: Schema
  budget: Budget
}

/** What references may still write out for one request: nodes written so far, characters left. */
interface Budget {
  nodes: number
  characters: number
}

/** Well above what a large tool set's references write out (a hundred MCP tools of a hundred nodes each). */
const MAX_WRITTEN_NODES = 20_000
const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value)

/** What a local JSON pointer (`#/…`, RFC 6901) names in the root, if anything. */
function pointedAt(root: Schema, ref: string): unknown {
  if (ref === '#') return root
  if (!ref.startsWith('#/')) return undefined
  let node: unknown = root
  for (const token of ref.slice(2).split('/')) {
    const key = uriDecoded(token).replaceAll('~1', '/').replaceAll('~0', '~')
    node = isSchema(node) || Array.isArray(node) ? (node as Record<string, unknown>)[key] : undefined
  }
  return node
}

/** A fragment's token percent-decoded, or as it is when it is not valid percent-encoding. */
function uriDecoded(token: string): string {
  try {
    return decodeURIComponent(token)
  } catch {
    return token
  }
}

/** The schema with a one-member `allOf` (pydantic's wrapping of a described `$ref`) and a local `$ref` written out, its own fields kept over the target's. */
function expanded(schema: Schema, refs: References, expanding: readonly string[]): { source: Schema; expanding: readonly string[] } {
  let source = schema
  if (Array.isArray(source.allOf) && source.allOf.length === 1 && isSchema(source.allOf[0])) {
    const { allOf, ...own } = source
    source = { ...allOf[0], ...own }
  }
  if (typeof source.$ref !== 'string') return { source, expanding }
  const { $ref: ref, ...own } = source as Schema & { $ref: string }
  const target = pointedAt(refs.root, ref)
  if (!isSchema(target) || expanding.includes(ref) || refs.budget.nodes >= MAX_WRITTEN_NODES) return { source: { type: 'object', ...own }, expanding }
  // The definition as written (narrowing only drops fields from it): what this expansion may add.
  const characters = JSON.stringify(target).length
  if (characters > refs.budget.characters) return { source: { type: 'object', ...own }, expanding }
  refs.budget.characters -= characters
  return expanded({ ...target, ...own }, refs, [...expanding, ref])
}

function narrowed(schema: Schema, refs: References, outer: readonly string[]): Schema {
  const { source: written, expanding } = expanded(schema, refs, outer)
  // Only what references write out counts: a schema's own nodes are bounded by the request's size.
  if (expanding.length > 0) refs.budget.nodes++
  const source: Schema = { ...written }
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
      const properties = propertiesOf(value, refs, expanding)
      if (properties) out.properties = properties
    } else if (key === 'items') {
      out.items = isSchema(value) ? narrowed(value, refs, expanding) : {}
    } else if (key === 'anyOf' && Array.isArray(value)) {
      out.anyOf = value.map((member) => (isSchema(member) ? narrowed(member, refs, expanding) : {}))
    } else {
      out[key] = value
    }
  }
  // JSON Schema may leave these implied; Gemini's Schema refuses them so ("items: missing field").
  if (out.type === undefined && (out.properties !== undefined || out.required !== undefined)) out.type = 'object'
  if (out.type === 'array' && out.items === undefined) out.items = { type: 'string' }
  return withGeminiConstraints(withKnownRequired(out))
}

/**
 * Gemini refuses a `required` naming a field its node's `properties` lack (a map, which Gemini's
 * Schema cannot hold, keeps no properties) and `properties` or `required` on a node that is not an
 * object ("only allowed for OBJECT type"): such names are left out.
 */
function withKnownRequired(schema: Schema): Schema {
  if (schema.type !== undefined && schema.type !== 'object') {
    delete schema.properties
    delete schema.required
    return schema
  }
  if (!Array.isArray(schema.required)) return schema
  const known = isSchema(schema.properties) ? schema.properties : {}
  const required = schema.required.filter((name): name is string => typeof name === 'string' && Object.hasOwn(known, name))
  if (required.length > 0) schema.required = required
  else delete schema.required
  return schema
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
function propertiesOf(value: unknown, refs: References, expanding: readonly string[]): Schema | null {
  if (!isSchema(value)) return null
  const entries = Object.entries(value).map(([name, schema]) => [name, isSchema(schema) ? narrowed(schema, refs, expanding) : {}] as const)
  return entries.length ? Object.fromEntries(entries) : null
}

export function geminiTools(request: ChatRequest): { tools?: Schema[]; toolConfig?: Schema } {
  const tools = request.tools ?? []
  if (!tools.length) return {}
  // References write out at most as many characters again as the tools hold.
  const budget: Budget = { nodes: 0, characters: JSON.stringify(tools).length }
  const functionDeclarations = tools.map(({ function: fn }) => {
    const parameters = fn.parameters ? toGeminiSchema(fn.parameters, budget) : {}
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

import { describe, expect, it } from 'vitest'
import { toGemini } from '../../src/formats/gemini/request'
import { toGeminiSchema } from '../../src/formats/gemini/tools'
import { ChatRequest } from '../../src/formats/openai/request'

describe('Gemini function-declaration schemas, to what Gemini takes', () => {
  it('leaves out string formats Gemini refuses, keeping date-time and number widths', () => {
    const schema = toGeminiSchema({
      type: 'object',
      properties: {
        url: { type: 'string', format: 'uri' },
        email: { type: 'string', format: 'email' },
        when: { type: 'string', format: 'date-time' },
        count: { type: 'integer', format: 'int64' },
      },
    }) as { properties: Record<string, Record<string, unknown>> }
    expect(schema.properties).toEqual({
      url: { type: 'string' },
      email: { type: 'string' },
      when: { type: 'string', format: 'date-time' },
      count: { type: 'integer', format: 'int64' },
    })
  })

  it('writes out local $refs (pydantic, zod-to-json-schema, MCP servers), which Gemini’s Schema cannot hold', () => {
    const schema = toGeminiSchema({
      type: 'object',
      properties: {
        task: { $ref: '#/$defs/Task' },
        tags: { type: 'array', items: { $ref: '#/definitions/Tag' } },
        owner: { allOf: [{ $ref: '#/$defs/Person' }], description: 'Who owns it' },
        missing: { $ref: '#/$defs/Nowhere', description: 'Unknown' },
      },
      required: ['task'],
      $defs: {
        Task: { type: 'object', properties: { title: { type: 'string' }, status: { $ref: '#/$defs/Status' } }, required: ['title'] },
        Status: { type: 'string', enum: ['open', 'done'] },
        Person: { type: 'object', properties: { name: { type: 'string' } }, description: 'A person' },
      },
      definitions: { Tag: { type: 'string' } },
    })
    expect(schema).toEqual({
      type: 'object',
      properties: {
        task: { type: 'object', properties: { title: { type: 'string' }, status: { type: 'string', enum: ['open', 'done'] } }, required: ['title'] },
        tags: { type: 'array', items: { type: 'string' } },
        owner: { type: 'object', properties: { name: { type: 'string' } }, description: 'Who owns it' },
        missing: { type: 'object', description: 'Unknown' },
      },
      required: ['task'],
    })
  })

  it('writes out references into the schema itself (zod-to-json-schema’s #/properties/…), and leaves a malformed one an object', () => {
    const schema = toGeminiSchema({
      type: 'object',
      properties: {
        home: { type: 'object', properties: { city: { type: 'string' } } },
        work: { $ref: '#/properties/home' },
        odd: { $ref: '#/properties/%E0%A4%A' },
        self: { $ref: '#' },
      },
    })
    expect(schema.properties).toEqual({
      home: { type: 'object', properties: { city: { type: 'string' } } },
      work: { type: 'object', properties: { city: { type: 'string' } } },
      odd: { type: 'object' },
      self: {
        type: 'object',
        properties: {
          home: { type: 'object', properties: { city: { type: 'string' } } },
          work: { type: 'object', properties: { city: { type: 'string' } } },
          odd: { type: 'object' },
          self: { type: 'object' },
        },
      },
    })
  })

  it('cuts a definition within its own expansion (a tree) to a bare object, and stops writing out past a bound', () => {
    const tree = toGeminiSchema({
      type: 'object',
      properties: { root: { $ref: '#/$defs/Node' } },
      $defs: { Node: { type: 'object', properties: { label: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/Node' } } } } },
    })
    expect(tree.properties).toEqual({
      root: { type: 'object', properties: { label: { type: 'string' }, children: { type: 'array', items: { type: 'object' } } } },
    })
    // Each level uses the next twice: written out in full it would hold 2^30 leaves.
    const levels = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`L${i}`, { type: 'object', properties: { a: { $ref: `#/$defs/L${i + 1}` }, b: { $ref: `#/$defs/L${i + 1}` } } }]))
    const wide = JSON.stringify(toGeminiSchema({ type: 'object', properties: { top: { $ref: '#/$defs/L0' } }, $defs: { ...levels, L30: { type: 'string' } } }))
    expect(wide.length).toBeLessThan(1_000_000)
  })

  it('stops writing out a wide definition used widely, across all of a request’s tools, at a bound', () => {
    // One definition of 2,000 properties used by 500: a 66 KB request, 25 MB written out in full.
    const Wide = { type: 'object', properties: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`p${i}`, { type: 'string' }])) }
    const parameters = { type: 'object', properties: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`r${i}`, { $ref: '#/$defs/Wide' }])), $defs: { Wide } }
    const tools = Array.from({ length: 3 }, (_, i) => ({ type: 'function' as const, function: { name: `f${i}`, parameters } }))
    const request = ChatRequest.parse({ model: 'm', messages: [{ role: 'user', content: 'hi' }], tools })
    const written = JSON.stringify(toGemini(request))
    expect(written.length).toBeLessThan(2_000_000)
    // The first uses are written out; past the bound, a reference is a bare object.
    const declared = (toGemini(request) as { tools: { functionDeclarations: { parameters: { properties: Record<string, { properties?: object }> } }[] }[] }).tools[0]!.functionDeclarations
    expect(Object.keys(declared[0]!.parameters.properties.r0!.properties!)).toHaveLength(2000)
    expect(declared[2]!.parameters.properties.r499).toEqual({ type: 'object' })
  })

  it('counts only what references write out: a large tool set without references leaves a later tool’s references whole', () => {
    const plain = { type: 'object', properties: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`p${i}`, { type: 'string' }])) }
    const many = Array.from({ length: 100 }, (_, i) => ({ type: 'function' as const, function: { name: `plain${i}`, parameters: plain } }))
    const referring = { type: 'object', properties: { city: { $ref: '#/$defs/City' } }, $defs: { City: { type: 'object', properties: { name: { type: 'string' } } } } }
    const request = ChatRequest.parse({ model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [...many, { type: 'function', function: { name: 'last', parameters: referring } }] })
    const declared = (toGemini(request) as { tools: { functionDeclarations: { name: string; parameters: { properties: Record<string, unknown> } }[] }[] }).tools[0]!.functionDeclarations
    expect(declared.at(-1)!.parameters.properties.city).toEqual({ type: 'object', properties: { name: { type: 'string' } } })
  })

  it('names in required only fields its node declares, and keeps properties and required to objects (Gemini refuses either)', () => {
    const schema = toGeminiSchema({
      type: 'object',
      properties: {
        // A map (zod's record, Claude Code's AskUserQuestion answers): no properties to hold its keys.
        answers: { type: 'object', additionalProperties: { type: 'string' }, required: ['q1'] },
        items: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' } }, required: ['id', 'missing'] } },
        odd: { type: 'string', properties: { x: { type: 'string' } }, required: ['x'] },
      },
      required: ['answers', 'gone'],
    })
    expect(schema).toEqual({
      type: 'object',
      properties: {
        answers: { type: 'object' },
        items: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } },
        odd: { type: 'string' },
      },
      required: ['answers'],
    })
  })

  it('types a node with properties but no type as an object, and gives an array without items string items (Gemini refuses both as written)', () => {
    const schema = toGeminiSchema({
      type: 'object',
      properties: {
        data: { description: 'The page', properties: { page_id: { type: 'string' } }, required: ['page_id'] },
        tags: { type: 'array', description: 'Tags' },
      },
    })
    expect(schema).toEqual({
      type: 'object',
      properties: {
        data: { type: 'object', description: 'The page', properties: { page_id: { type: 'string' } }, required: ['page_id'] },
        tags: { type: 'array', description: 'Tags', items: { type: 'string' } },
      },
    })
  })

  it('keeps an enum only on strings, and tells the model the values of any other in the description', () => {
    const schema = toGeminiSchema({
      type: 'object',
      properties: {
        level: { type: 'integer', enum: [1, 2, 3], description: 'How loud.' },
        flag: { type: 'boolean', const: true },
        color: { enum: ['red', 'green'] },
      },
    }) as { properties: Record<string, Record<string, unknown>> }
    expect(schema.properties).toEqual({
      level: { type: 'integer', description: 'How loud. One of: 1, 2, 3.' },
      flag: { type: 'boolean', description: 'One of: true.' },
      color: { type: 'string', enum: ['red', 'green'] },
    })
  })
})

describe('Gemini media parts', () => {
  it('takes a data: URL whose media type has parameters (RFC 2397)', () => {
    const request = ChatRequest.parse({
      model: 'test/gemini',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;name=shot.png;base64,iVBORw0KGgo=' } }] }],
    })
    const body = toGemini(request) as { contents: Array<{ parts: unknown[] }> }
    expect(body.contents[0]!.parts).toEqual([{ inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }])
  })
})

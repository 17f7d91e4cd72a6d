import { describe, expect, it, vi } from 'vitest'
import { MAX_JSON_DEPTH, nestingDepth, nestsTooDeep } from '../src/json-depth'
import { gatewayFetch, setUpGateway } from './support/gateway'

/**
 * A client's body is refused for its depth before it is parsed (api/body.ts): JSON.parse of
 * millions of nested brackets takes seconds of the isolate's CPU, and any bearer token, valid or
 * not, gets that far (an unknown key's 401 comes after the body is read).
 */

const tenant = setUpGateway()

describe('nestsTooDeep', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`

  it('agrees with the parsed depth, at and past MAX_JSON_DEPTH', () => {
    for (const depth of [1, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1]) {
      expect(nestsTooDeep(nested(depth))).toBe(nestingDepth(JSON.parse(nested(depth))) > MAX_JSON_DEPTH)
    }
    expect(nestsTooDeep(nested(MAX_JSON_DEPTH + 1))).toBe(true)
  })

  it('skips brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ a: `${'['.repeat(500)} \\" "${'{'.repeat(500)}`, b: [[1]] })
    expect(nestsTooDeep(text)).toBe(false)
    expect(nestsTooDeep(JSON.stringify({ a: 'say "hi"', b: JSON.parse(nested(MAX_JSON_DEPTH)) }))).toBe(true)
  })
})

describe('a body nested far past MAX_JSON_DEPTH', () => {
  it('is refused without being parsed', async () => {
    const depth = 1_000_000
    const deep = `{"model":"test/chat","messages":[{"role":"user","content":"hi"}],"x":${'['.repeat(depth)}${']'.repeat(depth)}}`
    const parse = vi.spyOn(JSON, 'parse')
    const response = await gatewayFetch('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${tenant.key}` }, body: deep })
    const parsedTheBody = parse.mock.calls.some(([text]) => typeof text === 'string' && text.length >= deep.length)
    parse.mockRestore()
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe(`Invalid JSON body: nested deeper than ${MAX_JSON_DEPTH} levels`)
    expect(parsedTheBody).toBe(false)
  })
})

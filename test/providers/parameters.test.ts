import { describe, expect, it } from 'vitest'
import { drop, mapParameters, rename, type Body, type ParameterRule } from '../../src/providers/parameters'

const cases: Array<{ name: string; source: Body; rules: ParameterRule[]; target?: Body; expected: Body }> = [
  { name: 'copies a field under its own name', source: { top_p: 0.5 }, rules: [{ param: 'top_p' }], expected: { top_p: 0.5 } },
  { name: 'renames', source: { seed: 7 }, rules: [rename('seed', 'random_seed')], expected: { random_seed: 7 } },
  { name: 'drops', source: { logprobs: true }, rules: [drop('logprobs')], expected: {} },
  { name: 'skips absent and null fields', source: { stop: null }, rules: [{ param: 'stop' }, { param: 'seed' }], expected: {} },
  { name: 'fills a default when the request has none', source: {}, rules: [{ param: 'max_tokens', default: 1024 }], expected: { max_tokens: 1024 } },
  { name: 'prefers the request over the default', source: { max_tokens: 5 }, rules: [{ param: 'max_tokens', default: 1024 }], expected: { max_tokens: 5 } },
  { name: 'clamps to max', source: { temperature: 1.7 }, rules: [{ param: 'temperature', min: 0, max: 1 }], expected: { temperature: 1 } },
  { name: 'clamps to min', source: { frequency_penalty: -2 }, rules: [{ param: 'frequency_penalty', min: 0 }], expected: { frequency_penalty: 0 } },
  {
    name: 'transforms before clamping',
    source: { temperature: 1.5 },
    rules: [{ param: 'temperature', transform: (v) => Number(v) * 2, max: 2 }],
    expected: { temperature: 2 },
  },
  {
    name: 'sends nothing when the transform answers undefined',
    source: { reasoning: { max_tokens: 10 } },
    rules: [{ param: 'reasoning', to: 'reasoning_effort', transform: () => undefined }],
    expected: {},
  },
  {
    name: 'nests a dotted destination beside existing keys',
    source: { user: 'u1' },
    rules: [rename('user', 'metadata.user_id')],
    target: { metadata: { trace: 'x' } },
    expected: { metadata: { trace: 'x', user_id: 'u1' } },
  },
  {
    name: 'never overwrites what the target already holds',
    source: { max_tokens: 10, max_completion_tokens: 20 },
    rules: [rename('max_tokens', 'max_completion_tokens')],
    target: { max_completion_tokens: 20 },
    expected: { max_completion_tokens: 20 },
  },
]

describe('mapParameters', () => {
  it.each(cases)('$name', ({ source, rules, target, expected }) => {
    expect(mapParameters(source, rules, target ? structuredClone(target) : undefined)).toEqual(expected)
  })

  it('leaves the source untouched', () => {
    const source = { user: 'u1', metadata: { a: 1 } }
    mapParameters(source, [rename('user', 'metadata.user_id')], { metadata: source.metadata })
    expect(source).toEqual({ user: 'u1', metadata: { a: 1 } })
  })
})

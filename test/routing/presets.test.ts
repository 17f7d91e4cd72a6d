import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors'
import { ChatRequest } from '../../src/formats/openai/request'
import { Preset, PresetsDocument, presetReference, withPreset } from '../../src/routing/presets'

const request = (fields: Record<string, unknown>) => ChatRequest.parse({ messages: [{ role: 'user', content: 'hi' }], ...fields })

const presets: PresetsDocument = PresetsDocument.parse({
  coding: {
    model: 'anthropic/claude-sonnet-4.5',
    models: ['openai/gpt-5'],
    provider: { order: ['anthropic'], allow_fallbacks: false },
    system: 'You write code.',
    temperature: 0.2,
    max_tokens: 4000,
    reasoning: { effort: 'high' },
  },
  bare: { temperature: 0.9 },
})

function thrown(run: () => unknown): GatewayError {
  try {
    run()
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
  throw new Error('did not throw')
}

describe('presetReference', () => {
  it.each([
    [{ model: '@preset/coding' }, { slug: 'coding', model: null }],
    [{ model: 'openai/gpt-5@preset/coding' }, { slug: 'coding', model: 'openai/gpt-5' }],
    [{ model: 'openai/gpt-5', preset: 'coding' }, { slug: 'coding', model: 'openai/gpt-5' }],
    [{ preset: 'coding' }, { slug: 'coding', model: null }],
    [{ model: 'openai/gpt-5' }, null],
    [{ model: 'openai/gpt-5', preset: null }, null],
  ])('reads %j', (fields, expected) => {
    expect(presetReference(request(fields))).toStrictEqual(expected)
  })

  it('refuses a malformed slug with a 400', () => {
    for (const fields of [{ model: '@preset/' }, { model: '@preset/Coding' }, { preset: 'a/b' }]) {
      const error = thrown(() => presetReference(request(fields)))
      expect(error.status).toBe(400)
      expect(error.message).toMatch(/^Invalid preset/)
    }
  })
})

describe('withPreset', () => {
  it("fills in the preset's model, routing, parameters and system prompt", () => {
    const served = withPreset(request({ model: '@preset/coding' }), { slug: 'coding', model: null }, presets)
    expect(served).toStrictEqual({
      model: 'anthropic/claude-sonnet-4.5',
      models: ['openai/gpt-5'],
      provider: { order: ['anthropic'], allow_fallbacks: false },
      temperature: 0.2,
      max_tokens: 4000,
      reasoning: { effort: 'high' },
      messages: [
        { role: 'system', content: 'You write code.' },
        { role: 'user', content: 'hi' },
      ],
    })
  })

  it("lets the request's own fields win, null counting as not sent, and either output limit replace the preset's", () => {
    const served = withPreset(
      request({ model: 'openai/gpt-5@preset/coding', temperature: 1, provider: null, max_completion_tokens: 100, preset: 'ignored-once-read' }),
      { slug: 'coding', model: 'openai/gpt-5' },
      presets,
    )
    expect(served).toMatchObject({ model: 'openai/gpt-5', temperature: 1, provider: { order: ['anthropic'] }, max_completion_tokens: 100 })
    expect(served).not.toHaveProperty('max_tokens')
    expect(served).not.toHaveProperty('preset')
  })

  it("uses the preset's fallback models only with its own model, and its reasoning only when the request says none", () => {
    const beside = withPreset(request({ model: 'openai/gpt-5@preset/coding' }), { slug: 'coding', model: 'openai/gpt-5' }, presets)
    expect(beside).not.toHaveProperty('models')
    const only = PresetsDocument.parse({ pool: { models: ['x/a', 'x/b'] } })
    expect(withPreset(request({ model: '@preset/pool' }), { slug: 'pool', model: null }, only)).toMatchObject({ model: null, models: ['x/a', 'x/b'] })
    const effort = withPreset(request({ model: '@preset/coding', reasoning_effort: 'low' }), { slug: 'coding', model: null }, presets)
    expect(effort).not.toHaveProperty('reasoning')
    expect(withPreset(request({ model: '@preset/coding', reasoning: { enabled: false } }), { slug: 'coding', model: null }, presets)).toMatchObject({ reasoning: { enabled: false } })
  })

  it('answers 404 for a preset not stored, and 400 when neither names a model', () => {
    const missing = thrown(() => withPreset(request({ model: '@preset/nope' }), { slug: 'nope', model: null }, presets))
    expect([missing.status, missing.message]).toStrictEqual([404, 'No preset "nope"'])
    expect(thrown(() => withPreset(request({ model: '@preset/constructor' }), { slug: 'constructor', model: null }, presets)).status).toBe(404)
    const modelless = thrown(() => withPreset(request({ model: '@preset/bare' }), { slug: 'bare', model: null }, presets))
    expect(modelless.status).toBe(400)
    expect(modelless.message).toContain('"author/model@preset/bare"')
    expect(withPreset(request({ model: 'openai/gpt-5@preset/bare' }), { slug: 'bare', model: 'openai/gpt-5' }, presets)).toMatchObject({ model: 'openai/gpt-5', temperature: 0.9 })
  })
})

describe('Preset', () => {
  it('refuses fields a preset cannot hold, and values a request could not send', () => {
    expect(Preset.safeParse({ model: 'a/b', messages: [] }).success).toBe(false)
    expect(Preset.safeParse({ temprature: 0.2 }).success).toBe(false)
    expect(Preset.safeParse({ temperature: 3 }).success).toBe(false)
    expect(PresetsDocument.safeParse({ 'Not A Slug': {} }).success).toBe(false)
    expect(Preset.safeParse({ model: '@preset/other' }).success).toBe(false)
    expect(Preset.safeParse({ models: ['x/a', 'x/b@preset/other'] }).success).toBe(false)
  })
})

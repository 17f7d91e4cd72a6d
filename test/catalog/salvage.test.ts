import { afterEach, describe, expect, it, vi } from 'vitest'
import bundled from '../../src/catalog/default.json'
import { salvageCatalog } from '../../src/catalog/salvage'
import { storedSnapshot } from '../../src/catalog/store'
import { testCatalog } from '../support/catalog'

/** The test catalog as an older release may have stored it, changed by `edit`. */
function stored(edit: (doc: any) => void): unknown {
  const document = structuredClone(testCatalog) as any
  edit(document)
  return document
}

describe('a stored catalog that no longer validates', () => {
  afterEach(() => vi.restoreAllMocks())

  it('loses only the provider that fails, its endpoints, and a model left with none', () => {
    // Allowed before the credentials rule: now refused, and it must not take the others down.
    const salvaged = salvageCatalog(stored((doc) => (doc.providers[1].baseUrl = 'https://user:sk-secret-1234@claude.example.com/v1')))
    expect(salvaged?.document.providers.map((p) => p.id)).toEqual(['alpha', 'gamma', 'dark'])
    expect(salvaged?.document.models.map((m) => [m.id, m.endpoints.map((e) => e.provider)])).toEqual([
      ['test/chat', ['alpha', 'gamma']],
      ['test/other', ['gamma']],
      ['test/dark', ['dark']],
    ])
    expect(salvaged?.dropped).toEqual([
      'provider "beta": baseUrl: must have no user, password, query or fragment: put credentials in apiKeyEnv or headers',
      'model "test/chat", endpoint on "beta": provider: unknown provider "beta"',
      'model "test/claude", endpoint on "beta": provider: unknown provider "beta"',
      'model "test/claude": endpoints: Too small: expected array to have >=1 items',
    ])
    expect(JSON.stringify(salvaged)).not.toContain('sk-secret-1234')
  })

  it('loses a bad endpoint, a bad model, or the second of two with one id, and keeps the rest', () => {
    const salvaged = salvageCatalog(
      stored((doc) => {
        doc.models[0].endpoints[2].pricing.prompt = '$1'
        doc.models[2].contextLength = -1
        doc.providers.push({ ...doc.providers[0], name: 'Alpha again' })
      }),
    )
    expect(salvaged?.document.providers.map((p) => p.name)).toEqual(['Alpha', 'Beta', 'Gamma', 'Dark'])
    expect(salvaged?.document.models.map((m) => [m.id, m.endpoints.map((e) => e.provider)])).toEqual([
      ['test/chat', ['alpha', 'beta']],
      ['test/claude', ['beta']],
      ['test/dark', ['dark']],
    ])
    expect(salvaged?.dropped).toHaveLength(3)
  })

  it('keeps the first of two endpoints of a model at one provider', () => {
    const salvaged = salvageCatalog(stored((doc) => doc.models[0].endpoints.push({ ...doc.models[0].endpoints[1], upstreamModel: 'again' })))
    expect(salvaged?.document.models[0]?.endpoints.map((e) => [e.provider, e.upstreamModel])).toEqual(
      testCatalog.models[0]?.endpoints.map((e) => [e.provider, e.upstreamModel]),
    )
    expect(salvaged?.dropped).toEqual(['model "test/chat", endpoint on "beta": provider: a second endpoint at provider "beta" (a model has one endpoint per provider)'])
  })

  it('keeps the valid one of two providers with one id when the first fails on its own', () => {
    const salvaged = salvageCatalog(
      stored((doc) => {
        doc.providers.push({ ...doc.providers[0], name: 'Alpha fixed' })
        doc.providers[0].baseUrl = 'https://u:p@alpha.example.com/v1'
      }),
    )
    expect(salvaged?.document.providers.map((p) => p.name)).toEqual(['Beta', 'Gamma', 'Dark', 'Alpha fixed'])
    expect(salvaged?.document.models.map((m) => m.id)).toEqual(['test/chat', 'test/claude', 'test/other', 'test/dark'])
    expect(salvaged?.dropped).toEqual(['provider "alpha": baseUrl: must have no user, password, query or fragment: put credentials in apiKeyEnv or headers'])
  })

  it('takes as many passes as the faults need: a type error beside a rule across entries', () => {
    const salvaged = salvageCatalog(
      stored((doc) => {
        // beta is Anthropic-format: a preset applies to OpenAI-format providers only (a rule across the document).
        doc.providers[1].preset = 'groq'
        doc.models[2].contextLength = '128000'
      }),
    )
    expect(salvaged?.document.models.map((m) => m.id)).toEqual(['test/chat', 'test/dark'])
    expect(salvaged?.dropped).toEqual([
      'model "test/other": contextLength: Invalid input: expected number, received string',
      'provider "beta": preset: a preset applies to format "openai" only',
      'model "test/chat", endpoint on "beta": provider: unknown provider "beta"',
      'model "test/claude", endpoint on "beta": provider: unknown provider "beta"',
      'model "test/claude": endpoints: Too small: expected array to have >=1 items',
    ])
  })

  it('names an endpoint by its provider, whatever was left out before it', () => {
    const salvaged = salvageCatalog(
      stored((doc) => {
        doc.models[0].endpoints[0].pricing.prompt = '$1'
        doc.providers[1].baseUrl = 'https://u:p@claude.example.com/v1'
      }),
    )
    expect(salvaged?.document.models[0]?.endpoints.map((e) => e.provider)).toEqual(['gamma'])
    expect(salvaged?.dropped.slice(0, 3)).toEqual([
      'provider "beta": baseUrl: must have no user, password, query or fragment: put credentials in apiKeyEnv or headers',
      expect.stringMatching(/^model "test\/chat", endpoint on "alpha": pricing\.prompt: /),
      'model "test/chat", endpoint on "beta": provider: unknown provider "beta"',
    ])
  })

  it('is given up when what fails is the document itself, or nothing servable is left', () => {
    expect(salvageCatalog(stored((doc) => (doc.version = 7)))).toBeNull()
    expect(salvageCatalog(stored((doc) => delete doc.models))).toBeNull()
    expect(salvageCatalog([1, 2])).toBeNull()
    expect(salvageCatalog(stored((doc) => doc.providers.forEach((p: any) => (p.region = null))))).toBeNull()
  })

  it('is served cut down rather than swapped for the bundled default, and says what it left out', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const snapshot = storedSnapshot(stored((doc) => (doc.providers[1].baseUrl = 'https://claude.example.com/v1?key=sk-secret-1234')))
    expect(snapshot.document.version).toBe('test')
    expect([...snapshot.models.keys()]).toEqual(['test/chat', 'test/other', 'test/dark'])
    expect(error).toHaveBeenCalledTimes(1)
    expect(String(error.mock.calls[0]?.[0])).toContain('provider "beta": baseUrl')
    expect(String(error.mock.calls[0]?.[0])).not.toContain('sk-secret-1234')
    error.mockClear()
    expect(storedSnapshot({ providers: 'none' }).document.version).toBe(bundled.version)
    expect(error).toHaveBeenCalledTimes(1)
  })
})

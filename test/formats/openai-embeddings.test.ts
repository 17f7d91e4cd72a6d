import { describe, expect, it } from 'vitest'
import {
  base64ToFloats,
  embeddingInputs,
  embeddingTokenBound,
  EmbeddingsRequest,
  estimateEmbeddingTokens,
  floatsToBase64,
  fromUpstreamEmbeddings,
  planningRequest,
  renderEmbeddings,
  toUpstreamEmbeddings,
} from '../../src/formats/openai/embeddings'

const parse = (body: object) => EmbeddingsRequest.parse({ model: 'test/embed', ...body })

describe('embeddings requests', () => {
  it.each([
    ['a string', 'hello', ['hello']],
    ['strings', ['a', 'b'], ['a', 'b']],
    ['token ids', [1, 2, 3], [[1, 2, 3]]],
    ['token id arrays', [[1], [2, 3]], [[1], [2, 3]]],
  ])('take %s as input', (_label, input, items) => {
    expect(embeddingInputs(parse({ input }).input)).toEqual(items)
  })

  it.each([
    ['an empty string', ''],
    ['an empty array', []],
    ['an empty string in an array', ['a', '']],
    ['mixed strings and ids', ['a', 1]],
    ['negative token ids', [-1]],
    ['no input', undefined],
  ])('refuse %s', (_label, input) => {
    expect(EmbeddingsRequest.safeParse({ model: 'm', input }).success).toBe(false)
  })

  it('refuse an unknown encoding_format and a non-positive dimensions', () => {
    expect(EmbeddingsRequest.safeParse({ model: 'm', input: 'a', encoding_format: 'int8' }).success).toBe(false)
    expect(EmbeddingsRequest.safeParse({ model: 'm', input: 'a', dimensions: 0 }).success).toBe(false)
  })

  it('bound tokens by UTF-8 bytes plus two per text input, and count token ids exactly', () => {
    expect(embeddingTokenBound(parse({ input: ['héllo', 'abc'] }))).toBe(6 + 2 + 3 + 2)
    expect(embeddingTokenBound(parse({ input: [[1, 2], [3]] }))).toBe(3)
    expect(estimateEmbeddingTokens(parse({ input: ['12345678', 'abc'] }))).toBe(2 + 1)
    expect(estimateEmbeddingTokens(parse({ input: [5, 6, 7] }))).toBe(3)
  })

  it('plan on models and preferences alone', () => {
    const request = parse({ input: 'x'.repeat(50_000), models: ['test/other'], provider: { sort: 'price' } })
    expect(planningRequest(request)).toEqual({ model: 'test/embed', models: ['test/other'], provider: { sort: 'price' }, messages: [] })
  })
})

describe('the upstream body', () => {
  const request = parse({ input: ['a'], models: ['x/y'], provider: { sort: 'price' }, encoding_format: 'base64', dimensions: 256, user: 'u-1', input_type: 'query' })

  it('goes out with the upstream model, without gateway fields or encoding_format, unknown fields passed through', () => {
    expect(toUpstreamEmbeddings(request, 'up-embed', 'any')).toEqual({ model: 'up-embed', input: ['a'], dimensions: 256, user: 'u-1', input_type: 'query' })
  })

  it('keeps only accepted fields (and input, dimensions) for a strict provider', () => {
    expect(toUpstreamEmbeddings(request, 'up-embed', ['model', 'messages'])).toEqual({ model: 'up-embed', input: ['a'], dimensions: 256 })
    expect(toUpstreamEmbeddings(request, 'up-embed', ['user'])).toEqual({ model: 'up-embed', input: ['a'], dimensions: 256, user: 'u-1' })
  })
})

describe('upstream answers', () => {
  const usage = { prompt_tokens: 7, total_tokens: 7 }

  it('are put in input order, with usage', () => {
    const body = { object: 'list', data: [{ index: 1, embedding: [0.2] }, { index: 0, embedding: [0.1] }], usage }
    expect(fromUpstreamEmbeddings(body, 2)).toEqual({
      vectors: [[0.1], [0.2]],
      usage: { promptTokens: 7, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
    })
  })

  it('have positions for missing indexes, base64 decoded, and null usage when none is reported', () => {
    const body = { data: [{ embedding: floatsToBase64([0.5, -1.25]) }, { embedding: [3] }] }
    expect(fromUpstreamEmbeddings(body, 2)).toEqual({ vectors: [[0.5, -1.25], [3]], usage: null })
  })

  it.each([
    ['a count sent as a string', { prompt_tokens: '7' }, null],
    ['a count past 2^53', { prompt_tokens: 1e20 }, null],
    ['a fraction, rounded up', { prompt_tokens: 6.5 }, 7],
    ['only total_tokens (Voyage), as the input', { total_tokens: 9 }, 9],
    ['both, prompt_tokens first', { prompt_tokens: 7, total_tokens: 9 }, 7],
    ['neither', {}, null],
    // Vectors were made of something: zero is no count, and the input is estimated.
    ['a zero prompt_tokens beside total_tokens', { prompt_tokens: 0, total_tokens: 9 }, 9],
    ['zeros alone', { prompt_tokens: 0, total_tokens: 0 }, null],
  ])('read usage with %s', (_label, usage, promptTokens) => {
    const decoded = fromUpstreamEmbeddings({ data: [{ index: 0, embedding: [1] }], usage }, 1)
    expect(decoded.usage?.promptTokens ?? null).toBe(promptTokens)
  })

  it.each([
    ['too few vectors', { data: [{ index: 0, embedding: [1] }], usage }],
    ['a repeated index', { data: [{ index: 0, embedding: [1] }, { index: 0, embedding: [2] }], usage }],
    ['an index out of range', { data: [{ index: 0, embedding: [1] }, { index: 5, embedding: [2] }], usage }],
    ['no data', { error: 'nope' }],
    ['a vector of strings', { data: [{ index: 0, embedding: ['a'] }, { index: 1, embedding: [1] }] }],
    ['broken base64', { data: [{ index: 0, embedding: 'AAA' }, { index: 1, embedding: [1] }] }],
  ])('are garbage with %s', (_label, body) => {
    expect(() => fromUpstreamEmbeddings(body, 2)).toThrow()
  })
})

describe('base64 vectors', () => {
  it('are little-endian float32, as OpenAI sends them', () => {
    expect(floatsToBase64([1])).toBe('AACAPw==')
    expect(base64ToFloats('AACAPw==')).toEqual([1])
    expect(base64ToFloats(floatsToBase64([0.5, -2, 1024.25]))).toEqual([0.5, -2, 1024.25])
  })
})

describe('the response', () => {
  const embeddings = { vectors: [[0.5, 1]], usage: null }
  const report = { usage: { promptTokens: 10, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, costNano: 1_300 }
  const meta = { id: 'gen-1', model: 'test/embed', provider: 'Alpha' }

  it('is an OpenAI list with the OpenRouter extras and cost in USD', () => {
    expect(renderEmbeddings(meta, embeddings, report, 'float')).toEqual({
      id: 'gen-1',
      object: 'list',
      model: 'test/embed',
      provider: 'Alpha',
      data: [{ object: 'embedding', index: 0, embedding: [0.5, 1] }],
      usage: { prompt_tokens: 10, total_tokens: 10, cost: 0.0000013 },
    })
  })

  it('encodes base64 when asked', () => {
    const [item] = renderEmbeddings(meta, embeddings, report, 'base64').data
    expect(item!.embedding).toBe(floatsToBase64([0.5, 1]))
  })
})

import { describe, expect, it } from 'vitest'
import { CatalogSchema } from '../../src/catalog/schema'
import { compileCatalog } from '../../src/catalog/snapshot'
import { hash53 } from '../../src/hash'
import { fromAnthropicRequest, MessagesRequest } from '../../src/formats/anthropic/ingress-request'
import { conversationOf, rendezvous, sessionHeaderOf, type SessionHeader, type Sticky } from '../../src/routing/sticky'
import { catalogDoc, chatRequest, plan, route } from './fixtures'

/** The fixtures' catalog with cached prompts discounted at every endpoint of x/chat. */
const caching = compileCatalog(
  CatalogSchema.parse({
    ...catalogDoc,
    models: catalogDoc.models.map((model) =>
      model.id === 'x/chat' ? { ...model, endpoints: model.endpoints.map((e) => ({ ...e, pricing: { ...e.pricing, cacheRead: '0.0000001' } })) } : model,
    ),
  }),
)
const equals = { catalog: caching, tieBandMs: 1e9 }
const conversation = (text: string) => ({ messages: [{ role: 'system' as const, content: 'You are terse.' }, { role: 'user' as const, content: text }] })

describe('hash53', () => {
  it('is a deterministic 53-bit integer that the text and the seed both change', () => {
    const values = ['', 'a', 'b', 'ab', 'ba'].map((text) => hash53(text))
    for (const value of values) expect(Number.isSafeInteger(value) && value >= 0).toBe(true)
    expect(new Set(values).size).toBe(5)
    expect(hash53('a')).toBe(hash53('a'))
    expect(hash53('a', 1)).not.toBe(hash53('a', 2))
  })
})

const header = (value: string): SessionHeader => ({ name: 'x-session-id', value })

describe('sessionHeaderOf', () => {
  it('reads OpenRouter’s x-session-id, else Claude Code’s x-claude-code-session-id, and no empty one', () => {
    expect(sessionHeaderOf(new Headers({ 'x-session-id': 'a', 'x-claude-code-session-id': 'b' }))).toEqual({ name: 'x-session-id', value: 'a' })
    expect(sessionHeaderOf(new Headers({ 'x-session-id': '', 'x-claude-code-session-id': 'b' }))).toEqual({ name: 'x-claude-code-session-id', value: 'b' })
    expect(sessionHeaderOf(new Headers())).toBeNull()
  })
})

describe('conversationOf', () => {
  it('keys on session_id, then x-session-id, then prompt_cache_key, then the first system and other messages', () => {
    const request = chatRequest({ ...conversation('Hello'), session_id: 's', prompt_cache_key: 'p' })
    expect(conversationOf(request, header('h'))?.source).toBe('session_id')
    expect(conversationOf({ ...request, session_id: null }, header('h'))?.source).toBe('x-session-id')
    expect(conversationOf({ ...request, session_id: null }, { name: 'x-claude-code-session-id', value: 'h' })).toEqual({ source: 'x-claude-code-session-id', hash: hash53('h') })
    expect(conversationOf({ ...request, session_id: null }, null)).toEqual({ source: 'prompt_cache_key', hash: hash53('p') })
    const plain = chatRequest(conversation('Hello'))
    expect(conversationOf(plain, null)?.source).toBe('conversation')
    // The conversation grows; its key stays.
    const grown = { ...plain, messages: [...plain.messages, { role: 'assistant' as const, content: 'Hi' }, { role: 'user' as const, content: 'More' }] }
    expect(conversationOf(grown, null)).toEqual(conversationOf(plain, null))
    expect(conversationOf(chatRequest(conversation('Other')), null)).not.toEqual(conversationOf(plain, null))
    // Keys that are not strings are the client's business, not a key.
    expect(conversationOf({ ...plain, session_id: 42, prompt_cache_key: { a: 1 } }, null)?.source).toBe('conversation')
  })

  it('keys two turns of one Claude Code session alike, though its billing line differs on every request', () => {
    const turn = (cch: string, history: object[]) =>
      fromAnthropicRequest(
        MessagesRequest.parse({
          model: 'anthropic/claude-sonnet-4.5',
          max_tokens: 64,
          system: [
            { type: 'text', text: `x-anthropic-billing-header: cc_version=2.1.177.${cch.slice(0, 3)}; cc_entrypoint=cli; cch=${cch};` },
            { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' } },
          ],
          messages: [{ role: 'user', content: 'Fix the failing test' }, ...history],
        }),
      )
    const first = turn('36ee5', [])
    const second = turn('0aaa9', [{ role: 'assistant', content: 'Looking.' }, { role: 'user', content: 'Go on' }])
    expect(conversationOf(second, null)).toEqual(conversationOf(first, null))
  })

  it('hashes only the start of long messages, and gives a conversation without text no key', () => {
    const long = (tail: string) => chatRequest({ messages: [{ role: 'system', content: `${'x'.repeat(5000)}${tail}` }, { role: 'user', content: 'Q' }] })
    expect(conversationOf(long('a'), null)).toEqual(conversationOf(long('b'), null))
    const imageOnly = chatRequest({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] })
    expect(conversationOf(imageOnly, null)).toBeNull()
    expect(conversationOf(imageOnly, header('header'))?.source).toBe('x-session-id')
  })
})

describe('rendezvous', () => {
  const keys = ['a', 'b', 'c']
  const sticky = (i: number): Sticky => ({ source: 'session_id', hash: hash53(`conversation ${i}`) })
  const firsts = (candidates: string[], n = 3000) => {
    const counts = new Map<string, number>()
    for (let i = 0; i < n; i++) {
      const first = rendezvous(candidates, sticky(i), (key) => key)[0]!
      counts.set(first, (counts.get(first) ?? 0) + 1)
    }
    return counts
  }

  it('spreads conversations evenly', () => {
    const counts = firsts(keys)
    expect(counts.size).toBe(3)
    for (const count of counts.values()) expect(Math.abs(count - 1000)).toBeLessThan(120)
    const endpoints = firsts(['anthropic/claude-sonnet-4@anthropic', 'anthropic/claude-sonnet-4@bedrock', 'anthropic/claude-sonnet-4@vertex'])
    for (const count of endpoints.values()) expect(Math.abs(count - 1000)).toBeLessThan(120)
  })

  it('moves only the conversations of a candidate that leaves', () => {
    for (let i = 0; i < 500; i++) {
      const before = rendezvous(keys, sticky(i), (key) => key)
      const after = rendezvous(['a', 'c'], sticky(i), (key) => key)
      expect(after).toEqual(before.filter((key) => key !== 'b'))
    }
  })
})

describe('sticky routing in the plan', () => {
  it('gives a conversation the same order among equals whatever the random draw, and others other orders', () => {
    const orders = [0, 0.3, 0.6, 0.99].map((r) => route(conversation('Hello'), { ...equals, random: () => r }).join())
    expect(new Set(orders).size).toBe(1)
    const firsts = new Set(Array.from({ length: 40 }, (_, i) => route(conversation(`Topic ${i}`), equals)[0]))
    expect(firsts.size).toBeGreaterThan(2)
    expect(plan(conversation('Hello'), equals).trace?.sticky).toBe('conversation')
    expect(plan({ ...conversation('Hello'), session_id: 'mine' }, equals).trace?.sticky).toBe('session_id')
    expect(plan(conversation('Hello'), { ...equals, sessionHeader: () => header('header') }).trace?.sticky).toBe('x-session-id')
  })

  it('keeps to random shares where no equal discounts cached prompts, in the baselines, and outside the band', () => {
    const shuffled = (options: object) => new Set([0, 0.3, 0.6, 0.99].map((r) => route(conversation('Hello'), { ...options, random: () => r })[0]))
    expect(shuffled({ tieBandMs: 1e9 }).size).toBeGreaterThan(1)
    expect(plan(conversation('Hello'), { tieBandMs: 1e9 }).trace?.sticky).toBeNull()
    expect(shuffled({ catalog: caching, mode: 'random' }).size).toBeGreaterThan(1)
    expect(plan(conversation('Hello'), { catalog: caching, tieBandMs: 0 }).trace?.sticky).toBeNull()
    const imageOnly = { messages: [{ role: 'user' as const, content: [{ type: 'image_url' as const, image_url: { url: 'https://example.com/a.png' } }] }] }
    expect(new Set([0, 0.3, 0.6, 0.99].map((r) => route(imageOnly, { ...equals, random: () => r })[0])).size).toBeGreaterThan(1)
    expect(plan(imageOnly, equals).trace?.sticky).toBeNull()
  })
})

import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { imageTokenBound, IMAGE_TOKEN_BOUND } from '../../src/formats/openai/estimate'
import type { Ledger } from '../../src/tenancy/ledger'
import { ALPHA } from '../support/catalog'
import { chat, createKey, generationOf, setUpGateway } from '../support/gateway'
import { fakeUpstreams, jsonResponse, openaiCompletion } from '../support/upstream'

/**
 * A request's charge is capped at what its admission reserved, so the reservation's bound on an
 * image must hold at every model: GPT-4o mini bills images at GPT-4o's dollars, 2,833 tokens plus
 * 5,667 a tile, far past other models' counts.
 */

const catalog = {
  version: 'image-bounds',
  providers: [{ id: 'alpha', name: 'Alpha', format: 'openai', baseUrl: ALPHA, apiKeyEnv: 'TEST_PROVIDER_KEY', headers: {}, region: { name: 'alpha', lat: 0, lon: 0 }, dataCollection: 'deny' }],
  models: [
    {
      id: 'openai/gpt-4o-mini',
      name: 'GPT-4o mini',
      contextLength: 128000,
      modalities: { input: ['text', 'image'], output: ['text'] },
      endpoints: [{ provider: 'alpha', upstreamModel: 'gpt-4o-mini', pricing: { prompt: '0.00000015', completion: '0.0000006' }, maxCompletionTokens: 16384, supportedParameters: ['max_tokens'] }],
    },
  ],
}
setUpGateway(catalog)

const ledgerOf = (hash: string) => runInDurableObject(env.KEYS.get(env.KEYS.idFromName(hash)), (_instance, state) => state.storage.kv.get<Ledger>('ledger'))
const PIXEL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='

describe('image prompt tokens', () => {
  it('bounds an image at GPT-4o mini by its 8 tiles, and elsewhere by the largest other count', () => {
    expect([imageTokenBound('openai/gpt-4o-mini'), imageTokenBound('gpt-4o-mini-2024-07-18')]).toEqual([48_169, 48_169])
    expect([imageTokenBound('openai/gpt-4o'), imageTokenBound('anthropic/claude-sonnet-4.5')]).toEqual([IMAGE_TOKEN_BOUND, IMAGE_TOKEN_BOUND])
  })

  it('charges every prompt token GPT-4o mini bills for an image (8,512 for a small high-detail one), in the answer, the generation and the ledger', async () => {
    const { key, hash } = await createKey({ name: 'image-bounds' })
    fakeUpstreams({ [ALPHA]: () => jsonResponse(openaiCompletion({ content: 'A cat.', usage: { prompt_tokens: 8512, completion_tokens: 3, total_tokens: 8515 } })) })
    const response = await chat(key, {
      model: 'openai/gpt-4o-mini',
      max_tokens: 20,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: PIXEL, detail: 'high' } }] }],
    })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { id: string; usage: { prompt_tokens: number; cost: number } }
    const nano = 8512 * 150 + 3 * 600
    expect(body.usage.cost).toBe(nano / 1e9)
    await vi.waitFor(async () => expect(await generationOf(key, body.id)).toMatchObject({ total_cost: nano / 1e9 }))
    expect((await ledgerOf(hash))?.totalNano).toBe(nano)
  })
})

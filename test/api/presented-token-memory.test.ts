import { afterEach, describe, expect, it, vi } from 'vitest'
import { gatewayFetch } from '../support/gateway'

/**
 * api/auth.ts keeps the digests of the last 1,024 presented tokens, keyed by the token itself,
 * for anyone, key or not. The count is bounded but not the size: a token of 100 KB (headers may
 * reach 128 KB) is kept whole, so 1,024 such requests without any key pin ~100 MB of an isolate
 * limited to 128 MB. A token no key can be (far longer than any tenant key or sane admin token)
 * must not be kept: presented again, it is handled as the first time (hashed again, or refused).
 */

afterEach(() => vi.restoreAllMocks())

function present(token: string): Promise<Response> {
  return gatewayFetch('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' })
}

describe('tokens presented without a key', () => {
  it('are not kept in the isolate when they are far longer than any key', async () => {
    // The admin token's own digest is memoised once per isolate: take it out of the count.
    await present('sk-mer-v1-warm-up')
    const huge = `sk-mer-v1-${'x'.repeat(100_000)}`
    const digest = vi.spyOn(crypto.subtle, 'digest')
    expect((await present(huge)).status).toBe(401)
    const first = digest.mock.calls.length
    expect((await present(huge)).status).toBe(401)
    const second = digest.mock.calls.length - first
    expect(second).toBe(first)
  })
})

import { describe, expect, it } from 'vitest'
import { STALL_MS } from '../src/clock'
import type { Env } from '../src/env'
import { kvMemo } from '../src/kv-memo'

/** A load the test answers by hand, one pending promise per call. */
function loads() {
  const pending: { resolve: (value: string) => void; reject: (error: Error) => void }[] = []
  const load = () => new Promise<string>((resolve, reject) => pending.push({ resolve, reject }))
  return { load, pending }
}

const REFRESH_MS = 1_000
const env = () => ({ KV: {} }) as unknown as Env
const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('kvMemo', () => {
  it('waits for KV once, then serves memory and refreshes in the background, one refresh at a time', async () => {
    const { load, pending } = loads()
    const memo = kvMemo(load, () => REFRESH_MS)
    const e = env()
    const background: Promise<unknown>[] = []
    const waitUntil = (promise: Promise<unknown>) => background.push(promise)
    const first = memo.read(e, waitUntil, 0)
    pending[0]!.resolve('v1')
    expect(await first).toBe('v1')
    expect(await memo.read(e, waitUntil, REFRESH_MS - 1)).toBe('v1')
    expect(pending).toHaveLength(1)
    expect(await memo.read(e, waitUntil, REFRESH_MS)).toBe('v1')
    expect(await memo.read(e, waitUntil, REFRESH_MS + 1)).toBe('v1')
    expect(pending).toHaveLength(2)
    pending[1]!.resolve('v2')
    await Promise.all(background)
    expect(await memo.read(e, waitUntil, REFRESH_MS + 2)).toBe('v2')
  })

  it('starts another refresh when one has hung past STALL_MS (its request’s context ended), and ignores the hung one', async () => {
    const { load, pending } = loads()
    const memo = kvMemo(load, () => REFRESH_MS)
    const e = env()
    const waitUntil = () => {}
    const first = memo.read(e, waitUntil, 0)
    pending[0]!.resolve('v1')
    await first
    await memo.read(e, waitUntil, REFRESH_MS)
    await memo.read(e, waitUntil, REFRESH_MS + STALL_MS)
    expect(pending).toHaveLength(2)
    await memo.read(e, waitUntil, REFRESH_MS + STALL_MS + 1)
    expect(pending).toHaveLength(3)
    pending[2]!.resolve('v3')
    await settle()
    expect(await memo.read(e, waitUntil, REFRESH_MS + STALL_MS + 2)).toBe('v3')
    // The hung refresh answers at last, with what it read long ago: it does not land.
    pending[1]!.resolve('v2-stale')
    await settle()
    expect(await memo.read(e, waitUntil, REFRESH_MS + STALL_MS + 3)).toBe('v3')
  })
})

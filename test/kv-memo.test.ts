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

  /** A memo loaded with 'v1' at 0, whose first refresh (started at REFRESH_MS) then hangs past STALL_MS and is replaced. */
  async function replacedRefresh() {
    const { load, pending } = loads()
    const memo = kvMemo(load, () => REFRESH_MS)
    const e = env()
    const waitUntil = () => {}
    const read = (at: number) => memo.read(e, waitUntil, at)
    const first = read(0)
    pending[0]!.resolve('v1')
    await first
    await read(REFRESH_MS)
    // Late, but not yet presumed hung: no second load.
    await read(REFRESH_MS + STALL_MS)
    expect(pending).toHaveLength(2)
    await read(REFRESH_MS + STALL_MS + 1)
    expect(pending).toHaveLength(3)
    return { pending, read, hung: pending[1]!, replacement: pending[2]! }
  }

  it('starts another refresh when one has hung past STALL_MS (its request’s context ended)', async () => {
    const { read, replacement } = await replacedRefresh()
    replacement.resolve('v3')
    await settle()
    expect(await read(REFRESH_MS + STALL_MS + 2)).toBe('v3')
  })

  it('lets a replaced refresh land if it answers first, and the newer one after it', async () => {
    const { read, hung, replacement, pending } = await replacedRefresh()
    hung.resolve('v2')
    await settle()
    expect(await read(REFRESH_MS + STALL_MS + 2)).toBe('v2')
    // The replacement is still under way: no third refresh starts meanwhile.
    expect(pending).toHaveLength(3)
    replacement.resolve('v3')
    await settle()
    expect(await read(REFRESH_MS + STALL_MS + 3)).toBe('v3')
  })

  it('ignores a replaced refresh that answers after a newer one landed, or fails', async () => {
    const { read, hung, replacement, pending } = await replacedRefresh()
    replacement.resolve('v3')
    await settle()
    hung.resolve('v2-read-earlier')
    await settle()
    expect(await read(REFRESH_MS + STALL_MS + 2)).toBe('v3')

    const again = await replacedRefresh()
    again.hung.reject(new Error('KV unavailable'))
    await settle()
    // The failure of the replaced refresh does not end the one under way, nor start another.
    await again.read(REFRESH_MS + STALL_MS + 2)
    expect(again.pending).toHaveLength(3)
    expect(pending).toHaveLength(3)
  })

  it('keeps a value set while the first load is under way (that load read KV before the write)', async () => {
    const { load, pending } = loads()
    const memo = kvMemo(load, () => REFRESH_MS)
    const e = env()
    const first = memo.read(e, () => {}, 0)
    memo.set(e, 'new (PUT)', 5)
    pending[0]!.resolve('old')
    expect(await first).toBe('new (PUT)')
    expect(await memo.read(e, () => {}, 10)).toBe('new (PUT)')
  })

  it('lets no refresh under way when a value is set land over it, even one begun after the set’s own clock', async () => {
    const { load, pending } = loads()
    const memo = kvMemo(load, () => REFRESH_MS)
    const e = env()
    const first = memo.read(e, () => {}, 0)
    pending[0]!.resolve('v1')
    await first
    const refreshes: Promise<unknown>[] = []
    await memo.read(e, (promise) => refreshes.push(promise), REFRESH_MS + 500)
    // The cron stores with its scheduled time, which may be earlier than the refresh's start.
    memo.set(e, 'new (sync)', REFRESH_MS)
    pending[1]!.resolve('read before the write')
    await Promise.all(refreshes)
    expect(await memo.read(e, () => {}, REFRESH_MS + 600)).toBe('new (sync)')
  })
})

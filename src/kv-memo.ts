import { STALL_MS } from './clock'
import type { Env } from './env'

/**
 * A value loaded from KV and memoised in the isolate: the first read of an isolate awaits KV;
 * after that reads are served from memory and, once the value is older than `refreshMs`, refreshed
 * in the background (in waitUntil). One refresh runs at a time, unless one has hung past STALL_MS
 * (as when its request's context ended first); a refresh replaced that way still lands if nothing
 * newer has. Used for the catalog and the health snapshot, which are read on every request and
 * change rarely. Memos are keyed by the KV binding so separate environments (tests, Miniflare
 * instances) never share one.
 */
export interface KvMemo<T> {
  read(env: Env, waitUntil: (promise: Promise<unknown>) => void, now: number): Promise<T>
  /** Replaces the memoised value at once (after this isolate wrote it). */
  set(env: Env, value: T, now: number): void
  /** Forgets the memoised value: the next read awaits KV again (tests that must start from what KV holds now). */
  forget(env: Env): void
}

interface Entry<T> {
  value: T
  loadedAt: number
  /** The refresh under way (its start names it), or null. */
  refreshing: { since: number } | null
}

export function kvMemo<T>(load: (env: Env) => Promise<T>, refreshMs: (env: Env) => number): KvMemo<T> {
  const entries = new WeakMap<KVNamespace, Entry<T>>()
  return {
    async read(env, waitUntil, now) {
      const entry = entries.get(env.KV)
      if (!entry) {
        const value = await load(env)
        // A value set while this read was under way (this isolate wrote it) is newer than what it read.
        const latest = entries.get(env.KV)
        if (latest) return latest.value
        entries.set(env.KV, { value, loadedAt: now, refreshing: null })
        return value
      }
      const hung = entry.refreshing !== null && now - entry.refreshing.since > STALL_MS
      if ((entry.refreshing === null || hung) && now - entry.loadedAt >= refreshMs(env)) {
        const mine = { since: now }
        entry.refreshing = mine
        waitUntil(
          load(env).then(
            (value) => {
              // A refresh replaced while slow still lands, unless something read later has, or a
              // value was set since it began (set() dates itself no earlier than a refresh under way).
              const latest = entries.get(env.KV)
              if (!latest || latest.loadedAt >= mine.since) return
              const refreshing = latest.refreshing === mine ? null : latest.refreshing
              entries.set(env.KV, { value, loadedAt: mine.since, refreshing })
            },
            () => {
              // Only the refresh under way backs off; a failed one that was replaced changes nothing.
              const latest = entries.get(env.KV)
              if (latest?.refreshing !== mine) return
              latest.refreshing = null
              latest.loadedAt = now
            },
          ),
        )
      }
      return entry.value
    },
    set(env, value, now) {
      // A refresh under way read KV before this value was written, or may have: it must not land.
      const since = entries.get(env.KV)?.refreshing?.since ?? now
      entries.set(env.KV, { value, loadedAt: Math.max(now, since), refreshing: null })
    },
    forget(env) {
      entries.delete(env.KV)
    },
  }
}

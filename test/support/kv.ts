import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import worker from '../../src/index'
import { ADMIN_TOKEN, BASE } from './gateway'

/** KV bindings that fail as production KV does, for the writes the admin API makes. */

function withWrites(inner: KVNamespace, check: (key: string) => void): KVNamespace {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'put') return async (key: string, value: string, options?: KVNamespacePutOptions) => (check(key), target.put(key, value, options))
      if (property === 'delete') return async (key: string) => (check(key), target.delete(key))
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** The KV binding with KV's documented rule enforced: a second write to a key within a second fails. */
export function oneWriteASecond(inner: KVNamespace): KVNamespace {
  const lastWrite = new Map<string, number>()
  return withWrites(inner, (key) => {
    const now = Date.now()
    const last = lastWrite.get(key)
    if (last !== undefined && now - last < 1_000) throw new Error('KV PUT failed: 429 Too Many Requests')
    lastWrite.set(key, now)
  })
}

/** The KV binding with every write to a key `refused` matches failing (KV down for writes, or its daily writes spent). */
export function writesRefused(inner: KVNamespace, refused: (key: string) => boolean): KVNamespace {
  return withWrites(inner, (key) => {
    if (refused(key)) throw new Error('KV PUT failed: 503')
  })
}

/** An admin API call served with `kv` as the gateway's KV binding. */
export async function adminWithKv(path: string, init: RequestInit, kv: KVNamespace): Promise<Response> {
  const ctx = createExecutionContext()
  const request = new Request(`${BASE}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } })
  const response = await worker.fetch(request, { ...env, KV: kv }, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

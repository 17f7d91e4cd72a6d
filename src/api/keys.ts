import { Hono } from 'hono'
import { GatewayError, invalidInput } from '../errors'
import { createKey, deleteKey, KEYS_PER_PAGE, listKeys, listKeysAfter, listOffset, offsetCursor, offsetOfCursor, readKey, updateKey } from '../tenancy/directory'
import { CreateKeyInput, KeyHash, PatchKeyInput } from '../tenancy/keys'
import { emptyLedger } from '../tenancy/ledger'
import { keyView } from '../tenancy/view'
import { requireAdmin } from './auth'
import { readJsonBody } from './body'
import type { AppEnv } from './context'

/** Key provisioning in OpenRouter's shape (management credential only). */
export const keys = new Hono<AppEnv>()

keys.use('/keys', requireAdmin)
keys.use('/keys/*', requireAdmin)

function hashParam(value: string): string {
  const parsed = KeyHash.safeParse(value)
  if (!parsed.success) throw invalidInput('key hash', parsed.error.issues)
  return parsed.data
}

function bothWays(): GatewayError {
  return new GatewayError(400, 'invalid_request', 'offset and cursor are two ways to page: send one of them')
}

function notFound(hash: string): GatewayError {
  return new GatewayError(404, 'not_found', `No key with hash ${hash}`)
}

keys.post('/keys', async (c) => {
  const input = await readJsonBody(c, CreateKeyInput, 'key')
  const now = c.get('clock')()
  const { key, record } = await createKey(c.env, input, now)
  // The key's only showing: no cache may keep it.
  return c.json({ data: keyView(record, emptyLedger(now), now), key }, 201, { 'cache-control': 'no-store' })
})

keys.get('/keys', async (c) => {
  const now = c.get('clock')()
  const includeDisabled = c.req.query('include_disabled') === 'true'
  const cursor = c.req.query('cursor')
  // A cursor (empty to start) pages KV's own listing; otherwise OpenRouter's offset, 0 when not given.
  // An offset page's next_cursor names the next offset, so a client walking next_cursor from a
  // plain listing goes on in the order it started in.
  const resumed = cursor === undefined ? undefined : offsetOfCursor(cursor)
  if (cursor === undefined || resumed !== undefined) {
    if (resumed !== undefined && c.req.query('offset')) throw bothWays()
    const offset = resumed ?? listOffset(c.req.query('offset'))
    const { keys: states, more } = await listKeysAfter(c.env, { offset, includeDisabled, now })
    return c.json({ data: states.map((state) => keyView(state.record, state.ledger, now)), next_cursor: more ? offsetCursor(offset + KEYS_PER_PAGE) : null })
  }
  if (c.req.query('offset')) throw bothWays()
  const page = await listKeys(c.env, { includeDisabled, now, ...(cursor ? { cursor } : {}) })
  return c.json({ data: page.keys.map((state) => keyView(state.record, state.ledger, now)), next_cursor: page.cursor })
})

keys.get('/keys/:hash', async (c) => {
  const hash = hashParam(c.req.param('hash'))
  const now = c.get('clock')()
  const state = await readKey(c.env, hash, now)
  if (!state) throw notFound(hash)
  return c.json({ data: keyView(state.record, state.ledger, now) })
})

keys.patch('/keys/:hash', async (c) => {
  const hash = hashParam(c.req.param('hash'))
  const patch = await readJsonBody(c, PatchKeyInput, 'key update')
  const now = c.get('clock')()
  const state = await updateKey(c.env, hash, patch, now)
  if (!state) throw notFound(hash)
  return c.json({ data: keyView(state.record, state.ledger, now) })
})

keys.delete('/keys/:hash', async (c) => {
  const hash = hashParam(c.req.param('hash'))
  if (!(await deleteKey(c.env, hash, c.get('clock')()))) throw notFound(hash)
  return c.json({ deleted: true })
})

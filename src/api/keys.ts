import { Hono } from 'hono'
import { GatewayError, invalidInput } from '../errors'
import { createKey, deleteKey, listKeys, readKey, updateKey } from '../tenancy/directory'
import { CreateKeyInput, KeyHash, PatchKeyInput, publicKey } from '../tenancy/keys'
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

function notFound(hash: string): GatewayError {
  return new GatewayError(404, 'not_found', `No key with hash ${hash}`)
}

keys.post('/keys', async (c) => {
  const input = await readJsonBody(c, CreateKeyInput, 'key')
  const { key, record } = await createKey(c.env, input, c.var.clock())
  return c.json({ data: publicKey(record), key }, 201)
})

keys.get('/keys', async (c) => {
  const { records, cursor } = await listKeys(c.env, {
    includeDisabled: c.req.query('include_disabled') === 'true',
    ...(c.req.query('cursor') ? { cursor: c.req.query('cursor') } : {}),
  })
  return c.json({ data: records.map(publicKey), next_cursor: cursor })
})

keys.get('/keys/:hash', async (c) => {
  const hash = hashParam(c.req.param('hash'))
  const record = await readKey(c.env, hash)
  if (!record) throw notFound(hash)
  return c.json({ data: publicKey(record) })
})

keys.patch('/keys/:hash', async (c) => {
  const hash = hashParam(c.req.param('hash'))
  const patch = await readJsonBody(c, PatchKeyInput, 'key update')
  const record = await updateKey(c.env, hash, patch, c.var.clock())
  if (!record) throw notFound(hash)
  return c.json({ data: publicKey(record) })
})

keys.delete('/keys/:hash', async (c) => {
  const hash = hashParam(c.req.param('hash'))
  if (!(await deleteKey(c.env, hash))) throw notFound(hash)
  return c.json({ deleted: true })
})

import { describe, expect, it } from 'vitest'
import { forClient, providerSecrets } from '../../src/gateway/failures'
import { MAX_JSON_DEPTH } from '../../src/json-depth'

const KEY = 'sk-live-0123456789abcdef'

describe('providerSecrets', () => {
  it('are the key secret, the credential headers the catalog sets, and their parts long enough to look for', () => {
    const headers = { authorization: 'Bearer vllm-token-98765', 'x-title': 'Meridian gateway', 'X-Api-Key': 'second-key-4567' }
    expect(providerSecrets(KEY, { headers }).sort()).toEqual([KEY, 'Bearer vllm-token-98765', 'vllm-token-98765', 'second-key-4567'].sort())
  })

  it('look for a Bedrock secret in parts, and not for pieces too short to be secrets', () => {
    expect(providerSecrets('AKIAEXAMPLE01:wJalrXUtnFEMIbPxRfiCY:tok', { headers: {} }).sort()).toEqual(['AKIAEXAMPLE01:wJalrXUtnFEMIbPxRfiCY:tok', 'AKIAEXAMPLE01', 'wJalrXUtnFEMIbPxRfiCY'].sort())
    expect(providerSecrets('demo', { headers: {} })).toEqual([])
  })
})

describe('forClient', () => {
  const secrets = providerSecrets(KEY, { headers: {} })

  it('hides a secret in the message, in strings and in keys of the body', () => {
    const error = { message: `bad key ${KEY}`, raw: { echoed: [`Bearer ${KEY}`], [KEY]: 1 }, status: 400 }
    expect(forClient(error, secrets)).toEqual({ message: 'bad key [redacted]', raw: { echoed: ['Bearer [redacted]'], '[redacted]': 1 }, status: 400 })
  })

  it('hides the start of a secret that a body read up to a size ends with', () => {
    const cut = `{"error":"auth=Bearer ${KEY.slice(0, 12)}`
    expect(forClient({ message: cut, raw: cut }, secrets)).toEqual({ message: '{"error":"auth=Bearer [redacted]', raw: '{"error":"auth=Bearer [redacted]' })
  })

  it('leaves out what nests past MAX_JSON_DEPTH, with or without secrets', () => {
    let deep: unknown = 'bottom'
    for (let i = 0; i < 5_000; i++) deep = [deep]
    const shown = forClient({ message: 'deep', raw: deep }, [])
    expect(() => JSON.stringify(shown.raw)).not.toThrow()
    expect(JSON.stringify(shown.raw)).toBe(`${'['.repeat(MAX_JSON_DEPTH)}"[omitted]"${']'.repeat(MAX_JSON_DEPTH)}`)
  })
})

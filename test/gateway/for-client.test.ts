import { describe, expect, it } from 'vitest'
import { forClient, providerSecrets } from '../../src/gateway/failures'
import { MAX_JSON_DEPTH } from '../../src/json-depth'

const KEY = 'sk-live-0123456789abcdef'

describe('providerSecrets', () => {
  it('are the key secret, every header value the catalog sets (no name tells a credential), and their parts long enough to look for', () => {
    const headers = { authorization: 'Bearer vllm-token-98765', 'Helicone-Auth': 'Bearer heli-98765', 'Ocp-Apim-Subscription-Key': 'apim-secret-1', 'x-title': 'Gateway' }
    expect(providerSecrets(KEY, { headers }).sort()).toEqual(
      [KEY, 'Bearer vllm-token-98765', 'vllm-token-98765', 'Bearer heli-98765', 'heli-98765', 'apim-secret-1'].sort(),
    )
  })

  it('are looked for as JSON escapes them too, in a body kept as text', () => {
    const secret = 'wJalrXUtn/FEMI"bPxRfiCY'
    const secrets = providerSecrets(secret, { headers: {} })
    expect(secrets).toEqual(expect.arrayContaining(['wJalrXUtn/FEMI\\"bPxRfiCY', 'wJalrXUtn\\/FEMI\\"bPxRfiCY']))
    const text = `{"error":"Invalid key ${JSON.stringify(secret).slice(1, -1).replaceAll('/', '\\/')}"}`
    expect(forClient({ message: text, raw: text }, secrets).raw).toBe('{"error":"Invalid key [redacted]"}')
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

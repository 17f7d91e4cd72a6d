import { describe, expect, it } from 'vitest'
import { signSigV4 } from '../../src/providers/sigv4'
import { awsCredentials, awsRegion } from '../../src/providers/bedrock'

// The AWS SigV4 test suite's credentials and instant (get-vanilla, post-vanilla).
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }
const now = new Date('2015-08-30T12:36:00Z')
const suite = { url: 'https://example.amazonaws.com/', headers: {}, body: '', region: 'us-east-1', service: 'service', credentials, now }

describe('SigV4 signing', () => {
  it('reproduces the AWS test suite get-vanilla signature', async () => {
    const headers = await signSigV4({ ...suite, method: 'GET' })
    expect(headers['x-amz-date']).toBe('20150830T123600Z')
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    )
  })

  it('reproduces the AWS test suite post-vanilla signature', async () => {
    const headers = await signSigV4({ ...suite, method: 'POST' })
    expect(headers.authorization).toMatch(/Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b$/)
  })

  it('signs the payload hash header and a session token when asked', async () => {
    const headers = await signSigV4({ ...suite, method: 'POST', body: '{}', credentials: { ...credentials, sessionToken: 'TOKEN' }, signPayloadHeader: true })
    expect(headers['x-amz-content-sha256']).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a')
    expect(headers['x-amz-security-token']).toBe('TOKEN')
    expect(headers.authorization).toContain('SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,')
  })

  it('changes the signature when the encoded path changes', async () => {
    const a = await signSigV4({ ...suite, method: 'POST', url: 'https://example.amazonaws.com/model/a%3A0/converse' })
    const b = await signSigV4({ ...suite, method: 'POST', url: 'https://example.amazonaws.com/model/a%3A1/converse' })
    expect(a.authorization).not.toBe(b.authorization)
  })
})

describe('Bedrock credentials and region', () => {
  it('reads ACCESS_KEY_ID:SECRET[:SESSION_TOKEN] from the one secret', () => {
    expect(awsCredentials('AKID:se/cr+et')).toEqual({ accessKeyId: 'AKID', secretAccessKey: 'se/cr+et' })
    expect(awsCredentials('AKID:secret:token')).toEqual({ accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'token' })
    expect(() => awsCredentials('just-a-key')).toThrow(/ACCESS_KEY_ID:SECRET_ACCESS_KEY/)
  })

  it('takes the signing region from the endpoint host', () => {
    expect(awsRegion('https://bedrock-runtime.us-west-2.amazonaws.com/model/x/converse', 'Oregon')).toBe('us-west-2')
    expect(awsRegion('https://bedrock-runtime-fips.us-east-1.amazonaws.com', 'us-west-2')).toBe('us-east-1')
    expect(awsRegion('https://vpce-0a1.bedrock-runtime.eu-central-1.vpce.amazonaws.com', 'x')).toBe('eu-central-1')
    // Elsewhere (a proxy, a simulator) the catalog region's name, when it is an AWS region id.
    expect(awsRegion('http://127.0.0.1:9301', 'ap-southeast-1')).toBe('ap-southeast-1')
    expect(() => awsRegion('https://example.com', 'Frankfurt')).toThrow()
  })
})

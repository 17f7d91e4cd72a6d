/**
 * AWS Signature Version 4 with WebCrypto (no AWS SDK in a Worker). Signs `host`, `x-amz-date`
 * and every header passed in; the caller sends the returned headers with the request.
 *
 * @example
 * const headers = await signSigV4({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body,
 *   region: 'us-east-1', service: 'bedrock', credentials, now: new Date(), signPayloadHeader: true })
 */

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  /** Temporary (STS) credentials carry a session token, sent as `x-amz-security-token`. */
  sessionToken?: string
}

export interface SigningInput {
  method: string
  url: string
  headers: Record<string, string>
  body: string
  region: string
  service: string
  credentials: AwsCredentials
  now: Date
  /** Also send (and sign) `x-amz-content-sha256`, as Bedrock's SDKs do. */
  signPayloadHeader?: boolean
}

const encoder = new TextEncoder()

/** The headers to send: the input's, plus `x-amz-date`, the optional ones, and `authorization`. */
export async function signSigV4(input: SigningInput): Promise<Record<string, string>> {
  const url = new URL(input.url)
  const amzDate = input.now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
  const date = amzDate.slice(0, 8)
  const payloadHash = hex(await sha256(input.body))
  const headers: Record<string, string> = { ...lowercased(input.headers), 'x-amz-date': amzDate }
  if (input.signPayloadHeader) headers['x-amz-content-sha256'] = payloadHash
  if (input.credentials.sessionToken) headers['x-amz-security-token'] = input.credentials.sessionToken
  const signed: Record<string, string> = { host: url.host, ...headers }
  const names = Object.keys(signed).sort()
  const signedHeaders = names.join(';')
  const canonicalRequest = [
    input.method.toUpperCase(),
    canonicalUri(url.pathname),
    canonicalQuery(url.searchParams),
    names.map((name) => `${name}:${signed[name]!.trim().replace(/\s+/g, ' ')}\n`).join(''),
    signedHeaders,
    payloadHash,
  ].join('\n')
  const scope = `${date}/${input.region}/${input.service}/aws4_request`
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(await sha256(canonicalRequest))].join('\n')
  let key: ArrayBuffer = encoder.encode(`AWS4${input.credentials.secretAccessKey}`).buffer as ArrayBuffer
  for (const part of [date, input.region, input.service, 'aws4_request']) key = await hmac(key, part)
  const signature = hex(await hmac(key, stringToSign))
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`
  return headers
}

/** RFC 3986 encoding as SigV4 defines it: only unreserved characters stay literal. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

// Every service but S3 encodes the (already encoded) path segments a second time.
function canonicalUri(pathname: string): string {
  return pathname.split('/').map(uriEncode).join('/') || '/'
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params]
    .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&')
}

function lowercased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))
}

async function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', encoder.encode(text))
}

async function hmac(key: ArrayBuffer, text: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(text))
}

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, '0')).join('')
}

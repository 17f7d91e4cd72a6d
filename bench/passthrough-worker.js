/**
 * The runtime's floor: a bare Worker that forwards the POST body to the bench upstream and returns
 * the upstream's status and body (streamed through untouched). No parsing, auth or accounting, so
 * no Worker gateway can be faster than this under the same runtime.
 *
 * Bindings: UPSTREAM_URL (the upstream's /v1/chat/completions), UPSTREAM_KEY (sent as Bearer), and
 * PUMP for profiling only (`npm run bench:profile -- --pump`): `native` (the default and the floor)
 * hands the upstream body to the runtime; `js` and `identity` copy it chunk by chunk in JavaScript
 * into a TransformStream or an IdentityTransformStream, the least any Worker that rewrites a stream
 * must do.
 */
export default {
  /** @param {Request} request @param {{ UPSTREAM_URL: string, UPSTREAM_KEY: string, PUMP?: string }} env */
  async fetch(request, env) {
    if (request.method !== 'POST') return new Response('ok')
    const upstream = await fetch(env.UPSTREAM_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${env.UPSTREAM_KEY}` },
      body: request.body,
    })
    return new Response(env.PUMP === 'js' || env.PUMP === 'identity' ? copied(upstream.body, env.PUMP) : upstream.body, {
      status: upstream.status,
      headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/json' },
    })
  },
}

/** @param {ReadableStream<Uint8Array>} body @param {'js' | 'identity'} pump */
function copied(body, pump) {
  const { readable, writable } = pump === 'js' ? new TransformStream() : new IdentityTransformStream()
  const copy = async () => {
    const reader = body.getReader()
    const writer = writable.getWriter()
    for (let read = await reader.read(); !read.done; read = await reader.read()) await writer.write(read.value)
    await writer.close()
  }
  copy()
  return readable
}

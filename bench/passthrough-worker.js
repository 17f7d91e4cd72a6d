/**
 * The runtime's floor: a bare Worker that forwards the POST body to the bench upstream and returns
 * the upstream's status and body (streamed through untouched). No parsing, auth or accounting, so
 * no Worker gateway can be faster than this under the same runtime.
 *
 * Bindings: UPSTREAM_URL (the upstream's /v1/chat/completions), UPSTREAM_KEY (sent as Bearer).
 */
export default {
  /** @param {Request} request @param {{ UPSTREAM_URL: string, UPSTREAM_KEY: string }} env */
  async fetch(request, env) {
    if (request.method !== 'POST') return new Response('ok')
    const upstream = await fetch(env.UPSTREAM_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${env.UPSTREAM_KEY}` },
      body: request.body,
    })
    return new Response(upstream.body, {
      status: upstream.status,
      headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/json' },
    })
  },
}

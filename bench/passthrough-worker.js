/**
 * The runtime's floor: a bare Worker that forwards the POST body to the bench upstream and returns
 * the upstream's status and body (streamed through untouched). No parsing, auth or accounting, so
 * no Worker gateway can be faster than this under the same runtime.
 *
 * Bindings: UPSTREAM_URL (the upstream's /v1/chat/completions), UPSTREAM_KEY (sent as Bearer), and
 * PUMP for profiling only (`npm run bench:profile -- --pump`), each the least some kind of gateway
 * must do:
 * - `native` (the default and the floor) hands the upstream body to the runtime;
 * - `js` and `identity` copy it chunk by chunk in JavaScript into a TransformStream or an
 *   IdentityTransformStream: any Worker that rewrites a stream;
 * - `hold` (streams) answers only once the upstream's first chunk is in, then copies as `identity`
 *   does: any Worker that can still fail over until the first byte;
 * - `rewrite` (JSON) reads the request and the answer into JavaScript and returns the answer with
 *   a cost added to its usage: any Worker that prices a JSON answer.
 */
export default {
  /** @param {Request} request @param {{ UPSTREAM_URL: string, UPSTREAM_KEY: string, PUMP?: string }} env */
  async fetch(request, env) {
    if (request.method !== 'POST') return new Response('ok')
    if (env.PUMP === 'rewrite') return rewritten(request, env)
    const upstream = await fetch(env.UPSTREAM_URL, upstreamInit(env, request.body))
    if (env.PUMP === 'hold') return held(upstream)
    return new Response(env.PUMP === 'js' || env.PUMP === 'identity' ? copied(upstream.body, env.PUMP) : upstream.body, {
      status: upstream.status,
      headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/json' },
    })
  },
}

/** @param {{ UPSTREAM_KEY: string }} env @param {BodyInit | null} body */
function upstreamInit(env, body) {
  return { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${env.UPSTREAM_KEY}` }, body }
}

/** @param {ReadableStream<Uint8Array>} body @param {'js' | 'identity'} pump @param {Uint8Array[]} [first] */
function copied(body, pump, first = []) {
  const { readable, writable } = pump === 'js' ? new TransformStream() : new IdentityTransformStream()
  const copy = async () => {
    const reader = body.getReader()
    const writer = writable.getWriter()
    for (const chunk of first) await writer.write(chunk)
    for (let read = await reader.read(); !read.done; read = await reader.read()) await writer.write(read.value)
    await writer.close()
  }
  copy()
  return readable
}

/** @param {Response} upstream */
async function held(upstream) {
  const reader = upstream.body.getReader()
  const first = await reader.read()
  reader.releaseLock()
  const body = copied(upstream.body, 'identity', first.done ? [] : [first.value])
  return new Response(body, { status: upstream.status, headers: { 'content-type': upstream.headers.get('content-type') ?? 'text/event-stream' } })
}

/** @param {Request} request @param {{ UPSTREAM_URL: string, UPSTREAM_KEY: string }} env */
async function rewritten(request, env) {
  const upstream = await fetch(env.UPSTREAM_URL, upstreamInit(env, JSON.stringify(await request.json())))
  const answer = await upstream.json()
  answer.usage.cost = answer.usage.prompt_tokens + answer.usage.completion_tokens
  return Response.json(answer, { status: upstream.status })
}

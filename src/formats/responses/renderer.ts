import type { Renderer } from '../../gateway/renderer'
import { sseComment } from '../sse'
import { responsesError } from './errors'
import { kept, renderResponse, type Keep } from './render'
import type { ResponsesRequest } from './request'
import { createResponseStream } from './stream'

/**
 * The renderer of one Responses request: its answer echoes that request's parameters, so each
 * request gets its own. A response to keep (`store` on) is kept before its answer, or its stream's
 * last event, goes out, so the client's next request finds it. Errors are in OpenAI's own shape
 * (./errors).
 */
export function responsesRenderer(request: ResponsesRequest, keep: Keep | null): Renderer {
  return {
    json: (meta, completion, report) => kept(renderResponse(meta, completion, report, request, keep !== null), keep),
    stream: (meta) => createResponseStream(meta, request, keep),
    error: responsesError,
    keepAlive: sseComment('MERIDIAN PROCESSING'),
  }
}

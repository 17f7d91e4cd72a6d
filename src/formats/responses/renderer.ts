import { toErrorResponse } from '../../errors'
import type { Renderer } from '../../gateway/renderer'
import { sseComment } from '../sse'
import { renderResponse } from './render'
import type { ResponsesRequest } from './request'
import { createResponseStream } from './stream'

/**
 * The renderer of one Responses request: its answer echoes that request's parameters, so each
 * request gets its own. Errors before the first byte are the gateway's OpenAI-shaped ones.
 */
export function responsesRenderer(request: ResponsesRequest): Renderer {
  return {
    json: (meta, completion, report) => renderResponse(meta, completion, report, request),
    stream: (meta) => createResponseStream(meta, request),
    error: toErrorResponse,
    keepAlive: sseComment('MERIDIAN PROCESSING'),
  }
}

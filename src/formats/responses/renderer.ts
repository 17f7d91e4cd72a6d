import type { Renderer } from '../../gateway/renderer'
import { sseComment } from '../sse'
import { responsesError } from './errors'
import { renderResponse } from './render'
import type { ResponsesRequest } from './request'
import { createResponseStream } from './stream'

/**
 * The renderer of one Responses request: its answer echoes that request's parameters, so each
 * request gets its own. Errors are in OpenAI's own shape (./errors).
 */
export function responsesRenderer(request: ResponsesRequest): Renderer {
  return {
    json: (meta, completion, report) => renderResponse(meta, completion, report, request),
    stream: (meta) => createResponseStream(meta, request),
    error: responsesError,
    keepAlive: sseComment('MERIDIAN PROCESSING'),
  }
}

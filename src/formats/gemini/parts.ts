import { parseDataUrl } from '../data-url'
import { GatewayError } from '../../errors'
import type { ContentPart } from '../openai/request'

/**
 * OpenAI content parts → Gemini `Part`s. Media goes inline when the client sent the bytes (data
 * URLs) and by reference (`fileData`) when it sent an http(s) URL, because Gemini fetches those
 * itself. Gemini requires a MIME type on both.
 */

export type GeminiPart = Record<string, unknown>

/**
 * MIME types guessed from a URL's extension. A URL without a known extension is sent as
 * `image/jpeg`: it arrived as an `image_url`, and a wrong image subtype is a smaller failure than
 * refusing an image whose URL simply has no extension (`…/photo?id=3`).
 */
const URL_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
}
const FALLBACK_IMAGE_TYPE = 'image/jpeg'

/** OpenAI `input_audio.format` → MIME type (Gemini accepts the common audio types). */
const AUDIO_TYPES: Record<string, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mp3',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  aac: 'audio/aac',
  aiff: 'audio/aiff',
  m4a: 'audio/m4a',
  webm: 'audio/webm',
  pcm16: 'audio/pcm',
}

export function guessMimeType(url: string, fallback = FALLBACK_IMAGE_TYPE): string {
  const path = url.replace(/[?#].*$/s, '')
  const extension = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase()
  return (extension && URL_TYPES[extension]) || fallback
}

export function textParts(content: string | Array<{ type: 'text'; text: string }>): GeminiPart[] {
  if (typeof content === 'string') return content ? [{ text: content }] : []
  return content.filter((part) => part.text).map((part) => ({ text: part.text }))
}

export function userParts(content: string | ContentPart[], index: number): GeminiPart[] {
  if (typeof content === 'string') return textParts(content)
  return content.flatMap((part, partIndex): GeminiPart[] => {
    const where = `messages[${index}].content[${partIndex}]`
    switch (part.type) {
      case 'text':
        return textParts([part])
      case 'image_url':
        return [mediaPart(part.image_url.url, where)]
      case 'input_audio':
        return [audioPart(part.input_audio.data, part.input_audio.format, where)]
      case 'file':
        return [filePart(part.file, where)]
    }
  })
}

function mediaPart(url: string, where: string): GeminiPart {
  const inline = parseDataUrl(url)
  if (inline) return { inlineData: { mimeType: inline.mediaType, data: inline.data } }
  if (/^https?:\/\//i.test(url)) return { fileData: { fileUri: url, mimeType: guessMimeType(url) } }
  throw new GatewayError(400, 'invalid_request', `${where}: image_url must be an http(s) URL or a base64 data: URL`)
}

function audioPart(data: string, format: string, where: string): GeminiPart {
  const mimeType = AUDIO_TYPES[format.toLowerCase()]
  if (!mimeType) throw new GatewayError(400, 'invalid_request', `${where}: audio format "${format}" is not supported by Gemini models`)
  return { inlineData: { mimeType, data } }
}

/** OpenAI file parts carry their bytes as a data URL in `file_data` (or, as /v1/messages and /v1/responses send one, its URL); uploaded `file_id`s mean nothing to Gemini. */
function filePart(file: Record<string, unknown>, where: string): GeminiPart {
  const data = typeof file.file_data === 'string' ? file.file_data : ''
  const inline = parseDataUrl(data)
  if (inline) return { inlineData: { mimeType: inline.mediaType, data: inline.data } }
  // Gemini fetches a public URL itself, a document as an image.
  if (/^https?:\/\//i.test(data)) return { fileData: { fileUri: data, mimeType: guessMimeType(data, 'application/pdf') } }
  throw new GatewayError(400, 'invalid_request', `${where}: Gemini models take files as a base64 data: URL or an http(s) URL in file.file_data`)
}

/** `name` has no Gemini field; prefixing keeps multi-party transcripts readable to the model. */
export function named(name: string | undefined, parts: GeminiPart[]): GeminiPart[] {
  if (!name) return parts
  const first = parts.findIndex((part) => typeof part.text === 'string')
  if (first < 0) return [{ text: `${name}:` }, ...parts]
  return parts.map((part, i) => (i === first ? { text: `${name}: ${String(part.text)}` } : part))
}

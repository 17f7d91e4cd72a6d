import { textOf, type ContentPart, type Message } from './request'
import { appendAll } from '../../arrays'

/**
 * Tool results may hold images and files (Anthropic's tool_result, a Responses function output);
 * OpenAI's tool messages hold text only. For OpenAI-format upstreams each run of tool messages
 * keeps its text, and the results' other parts follow the run as one user message, in order, or
 * open the user message that follows it (chat templates of open models refuse two user messages
 * in a row). Messages without such parts come back as they were, the same array.
 */
export function mediaAfterToolResults(messages: Message[]): Message[] {
  if (!messages.some((message) => message.role === 'tool' && toolMedia(message.content).length)) return messages
  const out: Message[] = []
  let media: ContentPart[] = []
  const flush = () => {
    if (media.length) out.push({ role: 'user', content: media })
    media = []
  }
  for (const message of messages) {
    if (message.role === 'user' && media.length) {
      const own = typeof message.content === 'string' ? (message.content ? [{ type: 'text' as const, text: message.content }] : []) : message.content
      out.push({ ...message, content: [...media, ...own] })
      media = []
      continue
    }
    if (message.role !== 'tool') {
      flush()
      out.push(message)
      continue
    }
    const parts = toolMedia(message.content)
    if (!parts.length || typeof message.content === 'string') {
      out.push(message)
      continue
    }
    appendAll(media, parts)
    // Plain text as a string, which every OpenAI-format server takes; parts when they carry a cache mark.
    const texts = message.content.filter((part) => part.type === 'text')
    out.push({ ...message, content: texts.some((part) => part.cache_control != null) ? texts : textOf(texts) })
  }
  flush()
  return out
}

function toolMedia(content: string | ContentPart[]): ContentPart[] {
  return typeof content === 'string' ? [] : content.filter((part) => part.type !== 'text')
}

/// <reference types="node" />
import { z } from 'zod'
import type { Target } from './targets'

/**
 * Before anything is measured, each target must answer one request of each kind with a 200 and a
 * well-formed OpenAI body carrying the upstream's text: a fast error is not a fast gateway.
 */

export const REQUEST_BODY = {
  model: 'bench/echo',
  messages: [{ role: 'user', content: 'hello' }],
  max_tokens: 16,
}

export function requestBody(stream: boolean): Buffer {
  return Buffer.from(JSON.stringify(stream ? { ...REQUEST_BODY, stream: true } : REQUEST_BODY))
}

const Usage = z.object({ prompt_tokens: z.number(), completion_tokens: z.number() })

const Completion = z.object({
  choices: z.array(z.object({ message: z.object({ role: z.literal('assistant'), content: z.string() }), finish_reason: z.string() })).min(1),
  usage: Usage,
})

const Chunk = z.object({
  choices: z.array(z.object({ delta: z.object({ content: z.string().optional() }), finish_reason: z.string().nullable() })),
  usage: Usage.nullish(),
})

async function post(target: Target, stream: boolean): Promise<string> {
  const res = await fetch(target.url, { method: 'POST', headers: target.headers, body: requestBody(stream).toString('utf8'), signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`${target.name}: ${stream ? 'streaming' : 'JSON'} request answered ${res.status}: ${text.slice(0, 500)}`)
  return text
}

function checkStream(target: Target, text: string, expected: string): void {
  const data = text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => line.slice('data: '.length))
  if (data.at(-1) !== '[DONE]') throw new Error(`${target.name}: stream does not end with data: [DONE]`)
  const chunks = data.slice(0, -1).map((payload) => Chunk.parse(JSON.parse(payload)))
  const content = chunks.map((chunk) => chunk.choices.map((choice) => choice.delta.content ?? '').join('')).join('')
  if (content !== expected) throw new Error(`${target.name}: streamed text ${JSON.stringify(content.slice(0, 80))} is not the upstream's`)
  if (!chunks.some((chunk) => chunk.choices.some((choice) => choice.finish_reason === 'stop'))) {
    throw new Error(`${target.name}: stream has no finish_reason "stop"`)
  }
  if (!chunks.some((chunk) => chunk.usage)) throw new Error(`${target.name}: stream has no usage chunk`)
}

/** Throws, naming the target, unless both a JSON and a streaming request come back whole. */
export async function checkTarget(target: Target, chunks: number): Promise<void> {
  const expected = 'tok '.repeat(chunks)
  const completion = Completion.parse(JSON.parse(await post(target, false)))
  const content = completion.choices[0]?.message.content
  if (content !== expected) throw new Error(`${target.name}: JSON content ${JSON.stringify(content?.slice(0, 80))} is not the upstream's`)
  checkStream(target, await post(target, true), expected)
}

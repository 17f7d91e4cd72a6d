/**
 * The order of an assistant turn's blocks, where the canonical message cannot hold it: it keeps
 * text, tool calls and reasoning apart. Claude's interleaved thinking (`[thinking, tool_use,
 * thinking, tool_use]`) must go back to Anthropic as it came, or the next request is refused
 * ("thinking blocks in the latest assistant message cannot be modified"). So a turn whose
 * reasoning follows other blocks carries its order under a symbol: never serialised, so no
 * upstream sees it, and kept by object spreads. Pure.
 */

export type BlockKind = 'reasoning' | 'text' | 'tool'

const ORDER = Symbol('blockOrder')

export interface BlockOrder {
  kinds: readonly BlockKind[]
  /** The text blocks one by one, where the message's content is the string they were joined into. */
  texts?: { blocks: readonly string[]; joined: string }
}

type Ordered = { [ORDER]?: BlockOrder }

/** Whether some reasoning comes after a block that is not reasoning (else reasoning first is the order). */
export function isInterleaved(order: readonly BlockKind[]): boolean {
  const first = order.findIndex((kind) => kind !== 'reasoning')
  return first >= 0 && order.indexOf('reasoning', first) >= 0
}

export function withBlockOrder<T extends object>(message: T, order: BlockOrder): T {
  ;(message as Ordered)[ORDER] = order
  return message
}

export function blockOrder(message: object): BlockOrder | undefined {
  return (message as Ordered)[ORDER]
}

/** A message's text blocks as they came, while its content is still the string they were joined into (nothing shortened it since). */
export function sentTexts(message: { content?: unknown }): readonly string[] | null {
  const texts = blockOrder(message)?.texts
  return texts && message.content === texts.joined ? texts.blocks : null
}

/**
 * Each kind's blocks, in their own order, placed as `order` says; null when the counts differ
 * from the order's (something was left out or added on the way), so the caller keeps its own order.
 */
export function placed<B>(order: BlockOrder, blocks: Record<BlockKind, readonly B[]>): B[] | null {
  const next: Record<BlockKind, number> = { reasoning: 0, text: 0, tool: 0 }
  const out: B[] = []
  for (const kind of order.kinds) {
    const block = blocks[kind][next[kind]++]
    if (block === undefined) return null
    out.push(block)
  }
  const used = (kind: BlockKind) => next[kind] === blocks[kind].length
  return used('reasoning') && used('text') && used('tool') ? out : null
}

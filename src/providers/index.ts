import type { WireFormat } from '../catalog/schema'
import type { Adapter } from './adapter'
import { anthropicAdapter } from './anthropic'
import { openaiAdapter } from './openai'

const ADAPTERS: Record<WireFormat, Adapter> = {
  openai: openaiAdapter,
  anthropic: anthropicAdapter,
}

export function adapterFor(format: WireFormat): Adapter {
  return ADAPTERS[format]
}

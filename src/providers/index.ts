import type { WireFormat } from '../catalog/schema'
import type { Adapter } from './adapter'
import { anthropicAdapter } from './anthropic'
import { bedrockAdapter } from './bedrock'
import { geminiAdapter } from './gemini'
import { openaiAdapter } from './openai'

const ADAPTERS: Record<WireFormat, Adapter> = {
  openai: openaiAdapter,
  anthropic: anthropicAdapter,
  gemini: geminiAdapter,
  bedrock: bedrockAdapter,
}

export function adapterFor(format: WireFormat): Adapter {
  return ADAPTERS[format]
}

import { GatewayError } from './errors'

/**
 * Writes to KV. KV takes one write a second to a key and refuses the next with a 429 ("KV PUT
 * failed: 429 Too Many Requests"), and takes values of at most 25 MiB: an operator who stores two
 * presets in a row, or a catalog a sync made too large, gets an answer that says so.
 */

/** A second, plus margin: KV's interval between writes to one key. */
const KV_WRITE_INTERVAL_MS = 1_100

/** KV's largest value. */
export const KV_MAX_VALUE_BYTES = 25 * 1024 * 1024

/** A write, tried once more a second later when KV refuses it; a second refusal throws. */
export async function writeWithRetry(write: () => Promise<void>): Promise<void> {
  try {
    await write()
  } catch {
    await new Promise((resolve) => setTimeout(resolve, KV_WRITE_INTERVAL_MS))
    await write()
  }
}

const encoder = new TextEncoder()

/**
 * An operator's document (the catalog, the presets, the sync's options) written under one key:
 * a 413 when it is larger than KV takes, a 503 to retry when KV refuses it twice. Either way the
 * stored document is unchanged.
 */
export async function storeDocument(kv: KVNamespace, key: string, text: string, subject: string): Promise<void> {
  const bytes = encoder.encode(text).byteLength
  if (bytes > KV_MAX_VALUE_BYTES) {
    throw new GatewayError(413, 'payload_too_large', `The ${subject} is ${bytes} bytes as stored, more than storage takes (${KV_MAX_VALUE_BYTES}); nothing was changed`, {
      bytes,
      limit: KV_MAX_VALUE_BYTES,
    })
  }
  try {
    await writeWithRetry(() => kv.put(key, text))
  } catch (error) {
    console.error(`the ${subject} could not be stored`, error instanceof Error ? error.message : String(error))
    throw new GatewayError(503, 'server', `Storage refused to write the ${subject}, so it was not stored; retry shortly`, {}, { 'retry-after': '1' })
  }
}

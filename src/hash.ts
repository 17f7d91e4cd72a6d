/** Stable, synchronous string hashing (not for secrets: use WebCrypto there). Pure. */

/** A 53-bit string hash: two 32-bit multiply-xor lanes over the UTF-16 code units, each avalanched and mixed into the other at the end. */
export function hash53(text: string, seed = 0): number {
  let a = 0x811c9dc5 ^ (seed >>> 0)
  let b = 0x01000193 ^ Math.floor(seed / 2 ** 32)
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    a = Math.imul(a ^ unit, 0x9e3779b1)
    b = Math.imul(b ^ unit, 0x85ebca77)
  }
  a = Math.imul(a ^ (a >>> 16), 0x7feb352d) ^ Math.imul(b ^ (b >>> 13), 0x846ca68b)
  b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35) ^ Math.imul(a ^ (a >>> 15), 0x27d4eb2f)
  return (b >>> 0) * 2 ** 21 + ((a >>> 0) >>> 11)
}

/** A promise raced against a timer. The loser is not cancelled here: callers abort what they started. */
export const TIMED_OUT: unique symbol = Symbol('timed out')

export async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: number | undefined
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms)
  })
  // A rejection after the deadline won must not surface as unhandled.
  promise.catch(() => {})
  try {
    return await Promise.race([promise, deadline])
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}

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

/**
 * An idle timeout for a long stream with one timer, not one per read: `touch()` on every event
 * only records the time, and the timer, when it fires, re-arms itself for whatever remains.
 * Timers run on real time, so this reads Date.now() rather than an injected clock.
 */
export function idleWatchdog(idleMs: number): { touch(): void; stop(): void; expired: Promise<typeof TIMED_OUT> } {
  let last = Date.now()
  let timer: number | undefined
  let fire: (value: typeof TIMED_OUT) => void = () => {}
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    fire = resolve
  })
  const arm = (delay: number) => {
    timer = setTimeout(() => {
      const idle = Date.now() - last
      if (idle >= idleMs) fire(TIMED_OUT)
      else arm(idleMs - idle)
    }, delay)
  }
  arm(idleMs)
  return {
    touch: () => {
      last = Date.now()
    },
    stop: () => {
      if (timer !== undefined) clearTimeout(timer)
    },
    expired,
  }
}

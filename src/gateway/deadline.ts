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
 * Between `pause()` and `resume()` (the relay writing to a slow client) it never fires: that wait
 * is not the upstream's silence. Timers run on real time, so this reads Date.now().
 */
export function idleWatchdog(idleMs: number): { touch(): void; pause(): void; resume(): void; stop(): void; expired: Promise<void> } {
  let last = Date.now()
  let paused = false
  let timer: number | undefined
  let fire: () => void = () => {}
  const expired = new Promise<void>((resolve) => {
    fire = resolve
  })
  const arm = (delay: number) => {
    timer = setTimeout(() => {
      const idle = Date.now() - last
      if (paused) arm(idleMs)
      else if (idle >= idleMs) fire()
      else arm(idleMs - idle)
    }, delay)
  }
  arm(idleMs)
  return {
    touch: () => {
      last = Date.now()
    },
    pause: () => {
      paused = true
    },
    resume: () => {
      paused = false
      last = Date.now()
    },
    stop: () => {
      if (timer !== undefined) clearTimeout(timer)
    },
    expired,
  }
}

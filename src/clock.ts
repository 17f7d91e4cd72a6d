/** The one clock: milliseconds since the epoch. Injected wherever time decides an outcome. */
export type Clock = () => number

export const systemClock: Clock = () => Date.now()

/** Resolves after `ms` of real time: timers run on real time, never on an injected clock. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A background job (a flush) lives in the waitUntil of the request that started it. If that
 * request's context ends first, its timers never fire; a job this late past its due time is
 * presumed dead, and the next request starts another.
 */
export const STALL_MS = 2_000

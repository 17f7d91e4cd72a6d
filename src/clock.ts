/** The one clock: milliseconds since the epoch. Injected wherever time decides an outcome. */
export type Clock = () => number

export const systemClock: Clock = () => Date.now()

/** Resolves after `ms` of real time: timers run on real time, never on an injected clock. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

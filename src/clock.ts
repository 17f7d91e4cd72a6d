/** The one clock: milliseconds since the epoch. Injected wherever time decides an outcome. */
export type Clock = () => number

export const systemClock: Clock = () => Date.now()

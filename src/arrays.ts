/**
 * Appends `items` to `target` one at a time. `target.push(...items)` passes each item as an
 * argument, and past about 120,000 of them (a client's array: parts, tool results, summaries) the
 * runtime's stack overflows. For arrays whose size a request decides.
 */
export function appendAll<T>(target: T[], items: Iterable<T>): void {
  for (const item of items) target.push(item)
}

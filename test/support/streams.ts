/** Everything a stream (or a reader, such as a MessageReader) yields, in order. */
export async function collect<T>(source: ReadableStream<T> | { read(): Promise<ReadableStreamReadResult<T>> }): Promise<T[]> {
  const reader = 'getReader' in source ? source.getReader() : source
  const out: T[] = []
  for (let read = await reader.read(); !read.done; read = await reader.read()) out.push(read.value)
  return out
}

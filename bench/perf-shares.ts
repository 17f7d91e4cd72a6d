/**
 * `npm run bench:profile -- --perf yes --perf-sort shares`: workerd's time per request (all threads),
 * by kind of work. A V8 profile sees only JavaScript, and shows everything the runtime does in C++
 * (HTTP, Headers, streams, SQLite, promise plumbing) as "(program)", "(idle)" or the JS function
 * that called it. `perf record --call-graph dwarf` samples every thread of the workerd process; this
 * reads `perf script -F comm,ip,sym,dso --no-inline` and gives each sample one kind, from its stack:
 * garbage collection or SQLite anywhere on the stack, otherwise by its innermost frame.
 */

export const SHARES = ['JavaScript and V8', 'workerd and kj (native runtime)', 'memory allocation', 'kernel', 'SQLite', 'garbage collection'] as const
export type Share = (typeof SHARES)[number]

/** One sample: its frames, innermost first, each `symbol (dso)`. */
type Stack = string[]

const GC = /^(v8::internal::(Heap::|Scavenger|MarkCompact|MinorMarkSweep|Sweeper|IncrementalMarking|ConcurrentMarking|GCTracer)|cppgc::internal::)/
const SQLITE = /^(sqlite3|workerd::SqliteDatabase|workerd::ActorSqlite|workerd::api::SqlStorage)/
// workerd links tcmalloc; perf names its entry points TCMallocInternal* (aliases of malloc and new).
const ALLOCATION = /^(tcmalloc::|TCMallocInternal|operator (new|delete)|__libc_(malloc|free)|(malloc|free)$)/
const JAVASCRIPT = /^(Builtins_|v8::|\[unknown\])/

/** A frame's symbol without its address and library, and whether it is the kernel's. */
function frame(line: string): { symbol: string; kernel: boolean } {
  const match = /^\s*[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/.exec(line)
  if (!match) return { symbol: line.trim(), kernel: false }
  return { symbol: match[1]!.replace(/\+0x[0-9a-f]+$/, ''), kernel: match[2]!.includes('kernel') }
}

export function shareOf(stack: Stack): Share {
  const frames = stack.map(frame)
  if (frames.some((f) => GC.test(f.symbol))) return 'garbage collection'
  if (frames.some((f) => SQLITE.test(f.symbol))) return 'SQLite'
  const leaf = frames[0]
  if (!leaf) return 'workerd and kj (native runtime)'
  if (leaf.kernel) return 'kernel'
  if (ALLOCATION.test(leaf.symbol)) return 'memory allocation'
  // JIT code has no symbol in perf's view of workerd; interpreter handlers and builtins are Builtins_*.
  if (JAVASCRIPT.test(leaf.symbol)) return 'JavaScript and V8'
  return 'workerd and kj (native runtime)'
}

/** Splits `perf script` output into samples (a header line, then one indented line per frame). */
export function samplesOf(script: string): Stack[] {
  const samples: Stack[] = []
  let current: Stack | null = null
  for (const line of script.split('\n')) {
    if (line.trim() === '') continue
    if (/^\s/.test(line)) current?.push(line)
    else samples.push((current = []))
  }
  return samples
}

/** Milliseconds of sampled thread time per request for each share, and in all. */
export function perfShares(script: string, sampleMs: number, requests: number): { share: Share | 'all'; msPerRequest: number }[] {
  const samples = samplesOf(script)
  const counts = new Map<Share, number>(SHARES.map((share) => [share, 0]))
  for (const stack of samples) {
    const share = shareOf(stack)
    counts.set(share, (counts.get(share) ?? 0) + 1)
  }
  const perRequest = (count: number) => (count * sampleMs) / Math.max(1, requests)
  return [...SHARES.map((share) => ({ share, msPerRequest: perRequest(counts.get(share) ?? 0) })), { share: 'all', msPerRequest: perRequest(samples.length) }]
}

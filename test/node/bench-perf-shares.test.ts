import { describe, expect, it } from 'vitest'
import { perfShares, samplesOf, shareOf } from '../../bench/perf-shares'

/**
 * `bench:profile --perf yes --perf-sort shares`: each perf sample is one kind of work, from its
 * stack (innermost frame first, as `perf script -F comm,ip,sym,dso` prints it).
 */

const frame = (symbol: string, dso = '/usr/bin/workerd') => `\t    55d1c0ffee ${symbol}+0x1a (${dso})`

describe('shareOf', () => {
  it('counts a sample under garbage collection or SQLite wherever they are on the stack', () => {
    expect(shareOf([frame('tcmalloc::tcmalloc_internal::FreeSmallSlow'), frame('v8::internal::Heap::CollectGarbage'), frame('main')])).toBe('garbage collection')
    expect(shareOf([frame('memcpy', '/usr/lib/libc.so.6'), frame('sqlite3VdbeExec'), frame('workerd::api::SqlStorage::exec')])).toBe('SQLite')
  })

  it('otherwise goes by the innermost frame', () => {
    expect(shareOf([frame('clear_page_erms', '[kernel.kallsyms]'), frame('kj::AsyncStreamFd::write')])).toBe('kernel')
    expect(shareOf([frame('tcmalloc::tcmalloc_internal::alloc_small_sampled_hooks_or_perthread<X>'), frame('kj::heapString')])).toBe('memory allocation')
    expect(shareOf([frame('TCMallocInternalNewArray'), frame('kj::heapString')])).toBe('memory allocation')
    expect(shareOf([frame('free', '/usr/lib/libc.so.6')])).toBe('memory allocation')
    expect(shareOf([frame('Builtins_JsonStringify'), frame('workerd::api::Response::json_')])).toBe('JavaScript and V8')
    expect(shareOf(['\t    7f00dead [unknown] ([JIT] tid 42)'])).toBe('JavaScript and V8')
    expect(shareOf([frame('workerd::api::Headers::~Headers'), frame('v8::internal::Heap::Scavenge')])).toBe('garbage collection')
    // The engine's object helpers are not collection, whatever their names start with.
    expect(shareOf([frame('v8::internal::HeapObject::SizeFromMap'), frame('v8::internal::HeapAllocator::AllocateRaw')])).toBe('JavaScript and V8')
    expect(shareOf([frame('kj::_::ChainPromiseNode::fire'), frame('kj::EventLoop::turn')])).toBe('workerd and kj (native runtime)')
  })
})

describe('perfShares', () => {
  const script = [
    'workerd ',
    frame('Builtins_FulfillPromise'),
    frame('kj::EventLoop::turn'),
    '',
    'workerd ',
    frame('kj::_::ChainPromiseNode::fire'),
    '',
    'V8 DefaultWorke ',
    frame('v8::internal::ConcurrentMarking::Run'),
    '',
    'workerd ',
    frame('Builtins_LoadIC'),
  ].join('\n')

  it('splits perf script output into one stack per sample', () => {
    expect(samplesOf(script).map((stack) => stack.length)).toEqual([2, 1, 1, 1])
  })

  it('turns sample counts into milliseconds per request, each kind and in all', () => {
    const shares = Object.fromEntries(perfShares(script, 2, 4).map(({ share, msPerRequest }) => [share, msPerRequest]))
    expect(shares).toEqual({
      'JavaScript and V8': 1,
      'workerd and kj (native runtime)': 0.5,
      'memory allocation': 0,
      kernel: 0,
      SQLite: 0,
      'garbage collection': 0.5,
      all: 2,
    })
  })
})

import type { Delta, ToolCallDelta } from '../canonical'
import { customCall, extraContentOf } from './custom-tools'
import { isWholeArguments } from './request'

/**
 * A stream's calls of custom tools (./custom-tools), each sent whole in one delta once its
 * arguments are whole JSON (or, failing that, at the finish: `pending`), since the provider streams
 * the text inside JSON. One delta, because the openai SDK's stream helper merges a call's later
 * fragments with `Object.assign`, which would replace `custom` rather than add to its input. Other
 * deltas and calls go through untouched; fragments of a custom call after its whole JSON are
 * dropped. A call is known by its name, which may come after its first fragment: until it does,
 * the call's fragments wait, and go out as one function fragment if the name is a function's.
 */
export interface CustomCallStream {
  /** The delta as the client gets it (null: nothing to send now). */
  delta(delta: Delta): Record<string, unknown> | null
  /** At the finish: the calls still held, as one delta (null: none). */
  pending(): Record<string, unknown> | null
}

interface Call {
  /** Null until a fragment names it. */
  kind: 'custom' | 'function' | null
  id: string | undefined
  name: string
  args: string
  /** Where the arguments' JSON stands, read once per character (no re-parse per fragment). */
  scan: JsonScan
  sent: boolean
  /** The call's `extra_content` (Gemini's thought signature), kept for the fragment that names it. */
  extra_content: unknown
}

export function customCallDeltas(custom: ReadonlySet<string>): CustomCallStream {
  const calls = new Map<number, Call>()

  const relay = (part: ToolCallDelta): object | null => {
    let call = calls.get(part.index)
    if (!call) calls.set(part.index, (call = { kind: null, id: undefined, name: '', args: '', scan: newScan(), sent: false, extra_content: undefined }))
    if (call.kind === 'function') return part
    call.id ??= part.id
    call.extra_content ??= part.extra_content
    if (call.kind === null && part.function?.name) call.name = part.function.name
    const fragment = part.function?.arguments ?? ''
    if (call.kind === null) {
      call.args += fragment
      if (!part.function?.name) return null
      call.kind = custom.has(call.name) ? 'custom' : 'function'
      if (call.kind === 'function') {
        const args = call.args
        call.args = ''
        return { index: part.index, ...(call.id !== undefined ? { id: call.id } : {}), type: 'function', function: { name: call.name, arguments: args }, ...extraContentOf(call) }
      }
      return sendIfWhole(part.index, call, call.args)
    }
    if (call.sent || !fragment) return null
    call.args += fragment
    return sendIfWhole(part.index, call, fragment)
  }

  return {
    delta(delta) {
      if (!delta.tool_calls) return delta
      const out = delta.tool_calls.flatMap((part) => relay(part) ?? [])
      const { tool_calls: _calls, ...rest } = delta
      if (out.length) return { ...rest, tool_calls: out }
      return Object.keys(rest).length ? rest : null
    },
    pending() {
      const held = [...calls].filter(([, call]) => call.kind !== 'function' && !call.sent)
      for (const [, call] of held) call.sent = true
      if (held.length === 0) return null
      return {
        tool_calls: held.map(([index, call]) =>
          call.kind === 'custom'
            ? { index, ...customCall(call.id, call.name, call.args), ...extraContentOf(call) }
            : { index, id: call.id, type: 'function', function: { name: call.name, arguments: call.args }, ...extraContentOf(call) },
        ),
      }
    },
  }
}

function sendIfWhole(index: number, call: Call, fragment: string): object | null {
  if (!scanned(call.scan, fragment) || !isWholeArguments(call.args)) return null
  call.sent = true
  return { index, ...customCall(call.id, call.name, call.args), ...extraContentOf(call) }
}

interface JsonScan {
  depth: number
  inString: boolean
  escaped: boolean
}

const newScan = (): JsonScan => ({ depth: 0, inString: false, escaped: false })

/** Reads on through `fragment`; true when it closed the outermost object or array (then, and only then, is a parse worth trying). */
function scanned(scan: JsonScan, fragment: string): boolean {
  let closed = false
  for (const char of fragment) {
    if (scan.inString) {
      if (scan.escaped) scan.escaped = false
      else if (char === '\\') scan.escaped = true
      else if (char === '"') scan.inString = false
    } else if (char === '"') scan.inString = true
    else if (char === '{' || char === '[') scan.depth++
    else if ((char === '}' || char === ']') && scan.depth > 0 && --scan.depth === 0) closed = true
  }
  return closed
}

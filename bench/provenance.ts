/// <reference types="node" />
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { cpus } from 'node:os'

/** What a result file records about what was measured: the machine, the commit, the runtime's versions. */

export interface Provenance {
  /** Names the result file. */
  name: string
  date: string
  machine: { node: string; cpus: number; cpuModel: string; platform: string }
  source: { commit: string; dirty: boolean } | null
  versions: Record<string, string>
}

export function provenance(root: string, name: string, date = new Date().toISOString()): Provenance {
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? 'unknown', platform: `${process.platform}-${process.arch}` }
  return { name, date, machine, source: source(root), versions: versions() }
}

/** The opening of a report: "Run `name` on <date> (<machine>, Node, miniflare, source)". */
export function runLine(run: Provenance): string {
  const source = run.source ? `${run.source.commit.slice(0, 7)}${run.source.dirty ? ' with uncommitted changes' : ''}` : 'unknown'
  return (
    `Run \`${run.name}\` on ${run.date.slice(0, 10)} (${run.machine.cpus} × ${run.machine.cpuModel.split(' ').slice(0, 2).join(' ')}, ` +
    `Node ${run.machine.node}, miniflare ${run.versions.miniflare ?? '?'}, source ${source})`
  )
}

/** Which source was measured: the commit, and whether the Worker's files differed from it. */
function source(root: string): { commit: string; dirty: boolean } | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--', 'src', 'wrangler.toml', 'package-lock.json') !== '' }
  } catch {
    return null
  }
}

function versions(): Record<string, string> {
  const require = createRequire(import.meta.url)
  const out: Record<string, string> = {}
  for (const name of ['miniflare', 'wrangler', 'workerd', 'autocannon']) {
    const pkg: unknown = require(`${name}/package.json`)
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') out[name] = pkg.version
  }
  return out
}

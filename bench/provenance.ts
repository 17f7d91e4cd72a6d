/// <reference types="node" />
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'

/** What a result file records about what was measured: the commit, and the runtime's versions. */

/** Which source was measured: the commit, and whether the Worker's files differed from it. */
export function source(root: string): { commit: string; dirty: boolean } | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--', 'src', 'wrangler.toml', 'package-lock.json') !== '' }
  } catch {
    return null
  }
}

export function versions(): Record<string, string> {
  const require = createRequire(import.meta.url)
  const out: Record<string, string> = {}
  for (const name of ['miniflare', 'wrangler', 'workerd', 'autocannon']) {
    const pkg: unknown = require(`${name}/package.json`)
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') out[name] = pkg.version
  }
  return out
}

import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The Worker imports zod as a namespace (`import * as z from 'zod'`), which esbuild tree-shakes by
 * the properties used. `import { z } from 'zod'` keeps zod's whole `z` object, every one of its
 * locales with it: 63 KiB of the gzipped bundle, whose target is 200 KiB (issue 5).
 */

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : []
  })
}

describe('the Worker’s zod imports', () => {
  it('import zod as a namespace, never its z object', () => {
    const named = sources('src').filter((path) => /import\s+(type\s+)?\{[^}]*\bz\b[^}]*\}\s+from\s+'zod'/.test(readFileSync(path, 'utf8')))
    expect(named).toEqual([])
    expect(sources('src').some((path) => readFileSync(path, 'utf8').includes("import * as z from 'zod'"))).toBe(true)
  })
})

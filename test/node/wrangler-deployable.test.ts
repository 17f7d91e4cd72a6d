/// <reference types="node" />
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

/**
 * README "Deploy": Cloudflare refuses a Worker that names an experimental compatibility flag ("…
 * is experimental and cannot yet be used in Workers deployed to Cloudflare. [code: 10021]").
 * workerd holds a config to the same rule unless run with --experimental, which Miniflare and
 * `wrangler dev` always pass: so local runs never show it, and this test asks workerd itself.
 */

const root = fileURLToPath(new URL('../..', import.meta.url))

it('wrangler.toml names no experimental compatibility flag', () => {
  const toml = readFileSync(join(root, 'wrangler.toml'), 'utf8')
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1]
  const flags = [...(/^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]!)
  expect(date).toBeDefined()

  const require = createRequire(createRequire(import.meta.url).resolve('miniflare'))
  const workerd = (require('workerd') as { default: string }).default // the binary's path, as Miniflare imports it
  const dir = mkdtempSync(join(tmpdir(), 'meridian-flags-'))
  try {
    writeFileSync(join(dir, 'w.js'), 'export default { fetch() { return new Response("ok") } }\n')
    writeFileSync(
      join(dir, 'c.capnp'),
      [
        'using Workerd = import "/workerd/workerd.capnp";',
        'const config :Workerd.Config = ( services = [(name = "main", worker = .w)] );',
        'const w :Workerd.Worker = (',
        '  modules = [(name = "w.js", esModule = embed "w.js")],',
        `  compatibilityDate = "${date}",`,
        `  compatibilityFlags = [${flags.map((f) => JSON.stringify(f)).join(', ')}],`,
        ');',
      ].join('\n'),
    )
    // No --experimental: what a deployment is held to. `test` loads the config and exits.
    const run = spawnSync(workerd, ['test', 'c.capnp'], { cwd: dir, encoding: 'utf8', timeout: 30_000 })
    const output = run.stderr + run.stdout
    expect(output.split('\n').filter((line) => line.includes('is experimental'))).toEqual([])
    // The check ran: workerd loaded the config and went on to look for tests (the worker has none).
    expect(output).toContain('No tests found')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

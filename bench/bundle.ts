/// <reference types="node" />
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

/**
 * The Worker exactly as `wrangler deploy` would upload it, built with `--dry-run --outdir`: the
 * bundle the bench runs, and its size as deployed (wrangler.toml minifies) and with `--minify`.
 */

export interface BundleSize {
  bytes: number
  gzipBytes: number
}

export interface Bundle {
  /** The deployable ES module (index.js), what the gateway target runs. */
  scriptPath: string
  deployed: BundleSize
  minified: BundleSize
  buildMs: number
}

const wranglerBin = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js')
const BUILD_TIMEOUT_MS = 120_000

/** Runs in its own process group: wrangler forks a second Node process, and a failed or stuck
 *  build must not leave it behind eating one of the two cores the measurements need. */
async function dryRun(root: string, outDir: string, minify: boolean | 'never'): Promise<string> {
  const args = [wranglerBin, 'deploy', '--dry-run', '--outdir', outDir, ...(minify === 'never' ? ['--minify=false'] : minify ? ['--minify'] : [])]
  const child = spawn(process.execPath, args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  })
  let stderr = ''
  child.stderr?.on('data', (data: Buffer) => (stderr += data.toString('utf8')))
  const killGroup = () => {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  const timer = setTimeout(killGroup, BUILD_TIMEOUT_MS)
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  clearTimeout(timer)
  killGroup()
  if (code !== 0) throw new Error(`wrangler deploy --dry-run${minify ? ' --minify' : ''} failed (exit ${code}):\n${stderr}`)
  return join(outDir, 'index.js')
}

function sizeOf(path: string): BundleSize {
  const bytes = readFileSync(path)
  // Level 9 is close to what Cloudflare's upload size check reports ("gzip: … KiB" in wrangler's output).
  return { bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length }
}

/**
 * Only the deployable script, for benches that run the gateway but do not report its size;
 * `readable` leaves names and module markers unminified (profiles).
 */
export async function buildScript(root: string, tmpDir: string, readable = false): Promise<string> {
  return dryRun(root, join(tmpDir, 'deployed'), readable ? 'never' : false)
}

export async function buildBundle(root: string, tmpDir: string): Promise<Bundle> {
  const started = performance.now()
  const scriptPath = await dryRun(root, join(tmpDir, 'deployed'), false)
  const minifiedPath = await dryRun(root, join(tmpDir, 'minified'), true)
  return { scriptPath, deployed: sizeOf(scriptPath), minified: sizeOf(minifiedPath), buildMs: performance.now() - started }
}

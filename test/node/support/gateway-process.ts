/// <reference types="node" />
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The gateway as a user runs it: `wrangler dev` on a free loopback port, offline, with fresh local
 * state and the given variables. For Node-side tests that drive it with real SDKs.
 */

const root = fileURLToPath(new URL('../../..', import.meta.url))

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface GatewayProcess {
  url: string
  stop(): Promise<void>
}

/**
 * A port found free can be taken by another process (a parallel test file's workerd) before
 * wrangler binds it; such a start is tried again on a fresh port.
 */
const PORT_ATTEMPTS = 5

export async function startGateway(vars: Record<string, string>, readyTimeoutMs = 90_000): Promise<GatewayProcess> {
  for (let attempt = 1; ; attempt++) {
    const started = await startOnFreePort(vars, readyTimeoutMs)
    if ('url' in started) return started
    if (!started.portTaken || attempt === PORT_ATTEMPTS) throw new Error(`wrangler dev did not become ready:\n${started.output.slice(-4000)}`)
  }
}

type StartFailure = { portTaken: boolean; output: string }

async function startOnFreePort(vars: Record<string, string>, readyTimeoutMs: number): Promise<GatewayProcess | StartFailure> {
  const port = await freePort()
  const state = mkdtempSync(join(tmpdir(), 'meridian-state-'))
  const wrangler = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js')
  const args = [wrangler, 'dev', '--port', String(port), '--ip', '127.0.0.1', '--persist-to', state, '--show-interactive-dev-session=false']
  for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}:${value}`)
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', CI: 'true' },
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    await kill(child)
    rmSync(state, { recursive: true, force: true })
  }
  const deadline = Date.now() + readyTimeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || output.includes('Address already in use')) break
    // Only this wrangler's "Ready on" proves the port is its own, not another process's.
    const ok = output.includes(`Ready on ${url}`) && (await fetch(`${url}/health`).then((r) => r.ok, () => false))
    if (ok) return { url, stop }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  await stop()
  return { portTaken: output.includes('Address already in use'), output }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

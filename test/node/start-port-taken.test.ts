/// <reference types="node" />
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { freePort } from './support/gateway-process'

/**
 * `npm start` when PORT is already taken (a second `npm start`, any dev server answering /health):
 * scripts/start.ts must not take the other process's /health for its gateway's, nor send it the
 * ADMIN_TOKEN or the demo catalog. It says the port is taken and stops.
 */

const root = fileURLToPath(new URL('../..', import.meta.url))
let impostor: Server | undefined
afterAll(() => new Promise<void>((resolve) => (impostor ? impostor.close(() => resolve()) : resolve())))

it('does not install the demo catalog into (or send the admin token to) another server on PORT', async () => {
  const seen: Array<{ method: string; url: string; authorization: string | undefined }> = []
  impostor = createServer((req: IncomingMessage, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization })
    req.resume()
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
  })
  const port = await freePort()
  await new Promise<void>((resolve) => impostor!.listen(port, '127.0.0.1', resolve))

  const tsx = createRequire(import.meta.url).resolve('tsx/cli')
  const child = spawn(process.execPath, [tsx, 'scripts/start.ts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port), FLEET_BASE_PORT: '0', CI: 'true', WRANGLER_SEND_METRICS: 'false' },
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM')
      resolve(null)
    }, 90_000)
    child.once('exit', (c) => {
      clearTimeout(timer)
      resolve(c)
    })
  })

  const token = readFileSync(`${root}/.dev.vars`, 'utf8').match(/^ADMIN_TOKEN=(.*)$/m)?.[1]?.trim()
  expect(output).toContain(`Port ${port} is in use`)
  expect(code).toBe(1)
  expect(seen.filter((r) => r.method === 'PUT' || (token && r.authorization === `Bearer ${token}`))).toEqual([])
  expect(output).not.toContain('Meridian is running')
}, 120_000)

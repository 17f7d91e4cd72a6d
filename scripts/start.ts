/// <reference types="node" />
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { devCatalog } from './dev-catalog'
import { type FleetProvider, fleetOptionsFromEnv, startFleet } from './fleet'

/**
 * `npm start`: the gateway under `wrangler dev` with the demo fleet as its providers, offline.
 * Creates `.dev.vars` (with a fresh ADMIN_TOKEN) on first run, starts the fleet, starts wrangler,
 * waits for `/health`, installs the dev catalog and prints how to make a first call.
 * Env: PORT (8787) and the fleet's FLEET_BASE_PORT (4101), FLEET_TTFT_MS, FLEET_TPS, FLEET_CHAOS.
 */

const root = fileURLToPath(new URL('..', import.meta.url))
const devVarsPath = fileURLToPath(new URL('../.dev.vars', import.meta.url))
const examplePath = fileURLToPath(new URL('../.dev.vars.example', import.meta.url))
const port = Number(process.env.PORT ?? 8787)
const gateway = `http://127.0.0.1:${port}`
/** wrangler's first build (esbuild + workerd start) takes a few seconds; a cold npx can take longer. */
const READY_TIMEOUT_MS = 120_000

function ensureDevVars(): void {
  if (existsSync(devVarsPath)) return addDemoKey()
  const token = randomBytes(32).toString('base64url')
  const example = readFileSync(examplePath, 'utf8')
  if (!/^ADMIN_TOKEN=.*$/m.test(example)) throw new Error(`${examplePath} has no ADMIN_TOKEN= line`)
  writeFileSync(devVarsPath, example.replace(/^ADMIN_TOKEN=.*$/m, `ADMIN_TOKEN=${token}`), { mode: 0o600 })
  console.log(`Created ${devVarsPath} with a new random ADMIN_TOKEN.`)
}

/**
 * A `.dev.vars` written by hand, or by an older checkout, may lack the demo fleet's key: without
 * it no demo provider is live and every demo request is a 503. The fleet takes any key.
 */
function addDemoKey(): void {
  const vars = readFileSync(devVarsPath, 'utf8')
  if (/^DEMO_PROVIDER_KEY=[ \t]*\S/m.test(vars)) return
  // A blank one counts as unset (src/env.ts): it is filled in where it stands.
  if (/^DEMO_PROVIDER_KEY=[ \t]*$/m.test(vars)) {
    writeFileSync(devVarsPath, vars.replace(/^DEMO_PROVIDER_KEY=[ \t]*$/m, 'DEMO_PROVIDER_KEY=demo'))
    console.log(`Set the blank DEMO_PROVIDER_KEY in ${devVarsPath} to demo: the demo fleet's providers need it to be live.`)
    return
  }
  const separator = vars === '' || vars.endsWith('\n') ? '' : '\n'
  writeFileSync(devVarsPath, `${vars}${separator}# The demo fleet (scripts/fleet.ts) accepts any key; added by npm start.\nDEMO_PROVIDER_KEY=demo\n`)
  console.log(`Added DEMO_PROVIDER_KEY=demo to ${devVarsPath}: the demo fleet's providers need it to be live.`)
}

function readAdminToken(): string {
  const line = readFileSync(devVarsPath, 'utf8')
    .split(/\r?\n/)
    .find((l) => l.startsWith('ADMIN_TOKEN='))
  const token = line?.slice('ADMIN_TOKEN='.length).trim().replace(/^(["'])(.*)\1$/, '$2')
  if (!token || token === 'replace-me') throw new Error(`Set ADMIN_TOKEN in ${devVarsPath} (or delete the file to get a fresh one).`)
  return token
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Refuses to start when PORT is taken (another `npm start`, any dev server): wrangler could not
 * bind it, and the other process's /health would pass for this gateway's, so the demo catalog and
 * the ADMIN_TOKEN would go to it.
 */
async function ensurePortFree(): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
  if (!free) throw new Error(`Port ${port} is in use (another npm start?). Stop that process, or choose another: PORT=8788 npm start`)
}

/** Waits for this wrangler's own "Ready on" line (only it proves the port is its own), then a 200 from /health. */
async function waitForHealth(isRunning: () => boolean, isReady: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (!isRunning()) throw new Error('wrangler dev exited before the gateway became ready')
    const ok = isReady() && await fetch(`${gateway}/health`, { signal: AbortSignal.timeout(2_000) })
      .then((res) => res.status === 200)
      .catch(() => false)
    if (ok) return
    await sleep(500)
  }
  throw new Error(`${gateway}/health did not answer 200 within ${READY_TIMEOUT_MS / 1000} s`)
}

async function installCatalog(adminToken: string, catalog: unknown): Promise<void> {
  const res = await fetch(`${gateway}/v1/admin/catalog`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(catalog),
  })
  if (!res.ok) throw new Error(`PUT /v1/admin/catalog answered ${res.status}: ${await res.text()}`)
}

function nextSteps(providers: FleetProvider[]): string {
  const chaosUrl = (providers[0]?.baseUrl ?? 'http://127.0.0.1:4101/v1').replace(/\/v1$/, '/__aimock/chaos')
  const base = `http://localhost:${port}`
  return `
Meridian is running at ${base} with the demo fleet (models meridian/demo-chat, meridian/demo-mini, meridian/demo-embed).

  export ADMIN_TOKEN=$(grep '^ADMIN_TOKEN=' .dev.vars | cut -d= -f2-)
  curl -X POST ${base}/v1/keys -H "Authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' -d '{"name":"demo"}'
  export MERIDIAN_KEY=sk-mer-v1-...   # the "key" from that response, shown only once
  curl -N ${base}/v1/chat/completions -H "Authorization: Bearer $MERIDIAN_KEY" -H 'content-type: application/json' \\
    -d '{"model":"meridian/demo-chat","stream":true,"messages":[{"role":"user","content":"Hello!"}]}'

The operator dashboard (providers' health, keys and their spend): ${base}/dashboard, signed into
with that ADMIN_TOKEN.

Make a demo provider fail: FLEET_CHAOS='demo-us-east:dropRate=1' npm start, or at runtime
  curl -X POST ${chaosUrl} -H 'content-type: application/json' -d '{"rateLimitRate":0.5}'   # demo-us-east
  curl -X DELETE ${chaosUrl}   # back to the startup setting
Ctrl-C stops everything.
`
}

async function main(): Promise<void> {
  ensureDevVars()
  const adminToken = readAdminToken()
  await ensurePortFree()
  const fleet = await startFleet(fleetOptionsFromEnv(process.env)).catch((error: unknown) => {
    if (error instanceof Error && 'code' in error && error.code === 'EADDRINUSE') {
      throw new Error(`The demo fleet's ports are in use (${error.message}; another npm start?). Move them: FLEET_BASE_PORT=4201 npm start`)
    }
    throw error
  })
  for (const p of fleet.providers) console.log(`demo provider ${p.id} (${p.format}, ${p.region.name}) at ${p.baseUrl}`)

  // `npx wrangler dev`, minus npx: npm 11's `npm exec` dies on SIGTERM without passing it on, which
  // would orphan wrangler and workerd whenever we stop it ourselves.
  const wranglerBin = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js')
  const wrangler = spawn(process.execPath, [wranglerBin, 'dev', '--port', String(port), '--ip', '127.0.0.1'], {
    cwd: root,
    stdio: ['inherit', 'pipe', 'pipe'],
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  })
  // wrangler's output is shown as it comes, and read for its "Ready on" line.
  let ready = false
  const readyLine = `Ready on ${gateway}`
  let tail = ''
  wrangler.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk)
    tail = (tail + chunk.toString()).slice(-4096)
    if (tail.includes(readyLine)) ready = true
  })
  wrangler.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk))
  let running = true
  let stopping: Promise<never> | undefined
  /** Idempotent: stops wrangler (giving workerd a moment to exit), then the fleet, then this process. */
  const shutdown = (code: number): Promise<never> =>
    (stopping ??= (async () => {
      if (running) {
        const exited = new Promise<void>((resolve) => wrangler.once('exit', () => resolve()))
        wrangler.kill('SIGTERM')
        await Promise.race([exited, sleep(5_000)])
      }
      await fleet.stop()
      return process.exit(code)
    })())
  wrangler.on('exit', (code, signal) => {
    running = false
    if (stopping) return
    console.error(`wrangler dev exited (${signal ?? `code ${code}`}); stopping the demo fleet.`)
    void shutdown(code ?? 0)
  })
  wrangler.on('error', (error) => {
    running = false
    console.error(`Could not start wrangler: ${error.message}`)
    void shutdown(1)
  })
  process.once('SIGINT', () => void shutdown(0))
  process.once('SIGTERM', () => void shutdown(0))

  try {
    await waitForHealth(() => running, () => ready)
    await installCatalog(adminToken, devCatalog(fleet.providers))
  } catch (error) {
    if (stopping) return
    console.error(`\n✗ The gateway is not ready: ${error instanceof Error ? error.message : String(error)}`)
    console.error('  The demo catalog was not installed; requests for meridian/demo-* will fail. Stopping.')
    await shutdown(1)
  }
  console.log(nextSteps(fleet.providers))
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})

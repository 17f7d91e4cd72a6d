/// <reference types="node" />
import { afterAll, beforeAll } from 'vitest'
import { devCatalog } from '../../../scripts/dev-catalog'
import { startFleet, type Fleet } from '../../../scripts/fleet'
import { startGateway, type GatewayProcess } from './gateway-process'

/**
 * The whole local stack a real client talks to: the demo fleet on free ports, the gateway under
 * `wrangler dev`, the dev catalog installed and one tenant key. Start it once per test file:
 *
 *   const meridian = useMeridian()            // registers beforeAll / afterAll
 *   it('…', () => new OpenAI({ baseURL: `${meridian().url}/v1`, apiKey: meridian().key }))
 */

export const ADMIN_TOKEN = 'node-test-admin-token'
/** The model every client test uses; the demo fleet serves it on all three providers. */
export const MODEL = 'meridian/demo-chat'
/** The demo provider that speaks Anthropic's format upstream. */
export const ANTHROPIC_FORMAT_PROVIDER = 'demo-eu-central'
/** A key of the gateway's shape that was never issued. */
export const UNKNOWN_KEY = 'sk-mer-v1-wrong'

export interface Meridian {
  /** The gateway's origin, without a path (`http://127.0.0.1:PORT`). */
  url: string
  /** A tenant key with no limits. */
  key: string
  fleet: Fleet
  gateway: GatewayProcess
  createKey(name: string): Promise<string>
  stop(): Promise<void>
}

export async function startMeridian(): Promise<Meridian> {
  const fleet = await startFleet({ basePort: 0, ttftMs: 0, tokensPerSecond: 2000 })
  let gateway: GatewayProcess | undefined
  try {
    gateway = await startGateway({ ADMIN_TOKEN, DEMO_PROVIDER_KEY: 'demo' })
    const url = gateway.url
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }
    const installed = await fetch(`${url}/v1/admin/catalog`, { method: 'PUT', headers: admin, body: JSON.stringify(devCatalog(fleet.providers)) })
    if (installed.status !== 200) throw new Error(`installing the dev catalog: ${installed.status} ${await installed.text()}`)
    const createKey = async (name: string): Promise<string> => {
      const created = await fetch(`${url}/v1/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name }) })
      if (created.status !== 201 && created.status !== 200) throw new Error(`creating a key: ${created.status} ${await created.text()}`)
      return ((await created.json()) as { key: string }).key
    }
    const key = await createKey('sdk')
    const started = gateway
    return {
      url,
      key,
      fleet,
      gateway: started,
      createKey,
      stop: async () => {
        await started.stop()
        await fleet.stop()
      },
    }
  } catch (error) {
    await gateway?.stop()
    await fleet.stop()
    throw error
  }
}

/** Starts the stack before the file's tests and stops it after; the getter throws until it is up. */
export function useMeridian(): () => Meridian {
  let meridian: Meridian | undefined
  beforeAll(async () => {
    meridian = await startMeridian()
  })
  afterAll(async () => {
    await meridian?.stop()
  })
  return () => meridian ?? (() => { throw new Error('the gateway is not running (did beforeAll fail?)') })()
}

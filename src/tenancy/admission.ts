import type { Env } from '../env'
import { GatewayError } from '../errors'
import { keyObject } from './directory'
import type { KeyRecord } from './keys'

/**
 * The one Durable Object call an inference request makes before going upstream: the key's object
 * decides whether the key may be used now. Refusals become GatewayErrors here.
 */
export async function admitRequest(env: Env, keyHash: string, now: number): Promise<KeyRecord> {
  const admission = await keyObject(env, keyHash).admit(now)
  if (!admission.ok) throw new GatewayError(admission.refusal.status, 'authentication', admission.refusal.message)
  return admission.key
}

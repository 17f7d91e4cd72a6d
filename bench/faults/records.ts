/// <reference types="node" />
import { z } from 'zod'
import type { SettledRequest } from '../load'

/**
 * One load request, reduced to what the analysis needs. The first attempt's provider comes from
 * the gateway's own attempt log: `meridian_route.attempts` in a 2xx body (the request asks for the
 * trace with `X-Meridian-Debug: route`), `error.metadata.attempts` in an error body. The
 * `x-meridian-provider` and `x-meridian-attempts` headers are read as a cross-check.
 */

export interface RequestRecord {
  /** Real seconds from the start of the load to when this request was sent. */
  t: number
  ok: boolean
  outcome: SettledRequest['outcome']
  status: number | null
  /** Sent until the last body byte. */
  latencyMs: number
  /** Provider of every upstream attempt, in order; empty when the gateway named none (or never answered). */
  tried: string[]
  /** Provider of the first upstream attempt; null when the gateway named none (or never answered). */
  first: string | null
  /** Provider that served a 2xx. */
  served: string | null
  attempts: number | null
  /** `usage.cost` of a 2xx, USD. */
  cost: number | null
  /** Whether a 2xx's x-meridian-provider / x-meridian-attempts headers match its attempt log. */
  headersAgree: boolean | null
  /** What routing believed of each provider when it planned this request (2xx only: the trace's candidates). */
  beliefs: Belief[] | null
  /** For a request that did not succeed: what the client got, briefly (status and the body's start). */
  detail: string | null
}

export interface Belief {
  provider: string
  circuit: string
  cooling: boolean
  ttfbMs: number
  errorRate: number
  score: number
}

const Attempts = z.array(z.object({ provider: z.string(), outcome: z.string() }))
const Candidates = z.array(
  z.object({ provider: z.string(), circuit: z.string(), cooling_until: z.number().nullable(), ttfb_ms: z.number(), error_rate: z.number(), score: z.number() }),
)
const Served = z.object({ usage: z.object({ cost: z.number() }), meridian_route: z.object({ attempts: Attempts, candidates: Candidates }) })
const Failed = z.object({ error: z.object({ metadata: z.object({ attempts: Attempts }).optional() }) })

function json(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    return null
  }
}

function excerpt(body: Buffer): string {
  return body.toString('utf8', 0, Math.min(body.length, 300))
}

function header(settled: SettledRequest, name: string): string | null {
  const value = settled.headers?.[name]
  return typeof value === 'string' ? value : null
}

export function toRecord(settled: SettledRequest, loadStart: number): RequestRecord {
  const base = {
    t: (settled.sentAt - loadStart) / 1000,
    ok: settled.outcome === 'ok',
    outcome: settled.outcome,
    status: settled.status,
    latencyMs: settled.settledAt - settled.sentAt,
    detail: settled.outcome === 'ok' ? null : `${settled.outcome} ${settled.status ?? ''}: ${settled.error ?? excerpt(settled.body)}`,
  }
  if (settled.outcome === 'ok') {
    const parsed = Served.safeParse(json(settled.body))
    if (!parsed.success) return { ...base, ok: false, outcome: 'failed', detail: `2xx without a usage cost and route trace: ${excerpt(settled.body)}`, tried: [], first: null, served: null, attempts: null, cost: null, headersAgree: null, beliefs: null }
    const attempts = parsed.data.meridian_route.attempts
    const served = header(settled, 'x-meridian-provider')
    const headersAgree = served === attempts.at(-1)?.provider && header(settled, 'x-meridian-attempts') === String(attempts.length)
    return { ...base, tried: attempts.map((a) => a.provider), first: attempts[0]?.provider ?? null, served, attempts: attempts.length, cost: parsed.data.usage.cost, headersAgree, beliefs: parsed.data.meridian_route.candidates.map((c) => ({
      provider: c.provider,
      circuit: c.circuit,
      cooling: c.cooling_until !== null,
      ttfbMs: c.ttfb_ms,
      errorRate: c.error_rate,
      score: c.score,
    })) }
  }
  const failed = Failed.safeParse(json(settled.body))
  const attempts = failed.success ? (failed.data.error.metadata?.attempts ?? null) : null
  return { ...base, tried: attempts?.map((a) => a.provider) ?? [], first: attempts?.[0]?.provider ?? null, served: null, attempts: attempts?.length ?? null, cost: null, headersAgree: null, beliefs: null }
}

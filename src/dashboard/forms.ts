import * as z from 'zod'
import { invalidInput } from '../errors'
import { CreateKeyInput } from '../tenancy/keys'

/**
 * The dashboard's new-key form, read into the admin API's own input (CreateKeyInput), so a key
 * made here is checked exactly as POST /v1/keys checks one. An empty field means "not set". Pure.
 */

type Form = Record<string, string | File | (string | File)[]>

const Field = z.string().trim()

function field(form: Form, name: string): string | undefined {
  const parsed = Field.safeParse(form[name])
  return parsed.success && parsed.data !== '' ? parsed.data : undefined
}

/** Plain decimal notation, as a number input sends it (`.5` too; no hex, no exponent). */
const DECIMAL = /^-?(?:\d+(?:\.\d+)?|\.\d+)$/

/** A number field as a number; text that is not a decimal stays text, for the schema to refuse by name. */
function numeric(form: Form, name: string): number | string | undefined {
  const value = field(form, name)
  return value !== undefined && DECIMAL.test(value) ? Number(value) : value
}

/** A list field: entries split at commas or whitespace; one with no entries (separators alone) is not set, as a blank one. */
function list(form: Form, name: string): string[] | undefined {
  const entries = field(form, name)?.split(/[\s,]+/).filter(Boolean)
  return entries?.length ? entries : undefined
}

/** A date input's value; a browser without a date picker sends what was typed. */
const DATE = /^\d{4}-\d{2}-\d{2}$/

export function keyInputFromForm(form: Form): CreateKeyInput {
  const requestsPerMinute = numeric(form, 'requests_per_minute')
  const tokensPerMinute = numeric(form, 'tokens_per_minute')
  const expiresOn = field(form, 'expires_on')
  if (expiresOn !== undefined && !DATE.test(expiresOn)) {
    const issue = { path: ['expires_on'], message: `enter the day as YYYY-MM-DD, such as 2027-01-31, not "${expiresOn.slice(0, 40)}"` }
    throw invalidInput('key', [issue])
  }
  const input = {
    name: field(form, 'name') ?? '',
    limit: numeric(form, 'limit'),
    limit_reset: field(form, 'limit_reset'),
    rate_limit:
      requestsPerMinute === undefined && tokensPerMinute === undefined
        ? undefined
        : { requests_per_minute: requestsPerMinute ?? null, tokens_per_minute: tokensPerMinute ?? null },
    max_concurrency: numeric(form, 'max_concurrency'),
    allowed_models: list(form, 'allowed_models'),
    allowed_providers: list(form, 'allowed_providers'),
    // A date input gives YYYY-MM-DD; the key expires at the start of that day, UTC.
    expires_at: expiresOn === undefined ? undefined : `${expiresOn}T00:00:00Z`,
  }
  const parsed = CreateKeyInput.safeParse(Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)))
  if (!parsed.success) throw invalidInput('key', parsed.error.issues)
  return parsed.data
}

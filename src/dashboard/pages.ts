import { html, raw } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import type { ProviderView } from '../api/providers'
import { usdText } from '../catalog/pricing'
import { KEYS_PER_PAGE } from '../tenancy/directory'
import type { KeyMoney, KeyView } from '../tenancy/view'

/**
 * The dashboard's pages, rendered on the server as plain HTML: no script runs in the browser, and
 * every value from the catalog, a key or a form goes through `html`, which escapes it. Pure.
 */

type Html = HtmlEscapedString | Promise<HtmlEscapedString>

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{display:flex;align-items:center;justify-content:space-between;padding:12px 24px;background:#1d2330;color:#fff}
header h1{font-size:18px;margin:0}
main{padding:16px 24px;max-width:1400px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:12px 16px;margin-bottom:16px}
h2{font-size:16px;margin:4px 0 12px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
th{font-weight:600;color:#55607a}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,monospace}
.tag{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px}
.ok{background:#e3f5e8;color:#17652f}.bad{background:#fde5e5;color:#9b1c1c}.warn{background:#fff3d6;color:#8a5a00}.off{background:#eceef2;color:#55607a}
form.inline{display:inline}
label{margin-right:12px}
input,select,button{font:inherit}
.notice{padding:8px 12px;border-radius:4px;background:#fff3d6;margin-bottom:12px}
.secret{font:15px ui-monospace,monospace;padding:8px;background:#eceef2;border-radius:4px;word-break:break-all}
`

function layout(title: string, body: Html, signedIn: boolean): string {
  const page = html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title} · Meridian</title><style>${raw(STYLE)}</style></head>
<body>
<header><h1>Meridian</h1>${signedIn ? html`<form class="inline" method="post" action="/dashboard/sign-out"><button type="submit">Sign out</button></form>` : ''}</header>
<main>${body}</main>
</body>
</html>`
  // Nothing interpolated is a promise, so `html` has rendered the page already.
  if (page instanceof Promise) throw new Error('a dashboard page must render synchronously')
  return page.toString()
}

export function signInPage(problem: string | null): string {
  return layout(
    'Sign in',
    html`<section><h2>Operator sign-in</h2>
${problem ? html`<p class="notice">${problem}</p>` : ''}
<form method="post" action="/dashboard/sign-in">
<label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button>
</form></section>`,
    false,
  )
}

export function errorPage(status: number, message: string, signedIn: boolean): string {
  return layout('Error', html`<section><h2>Error ${status}</h2><p>${message}</p><p><a href="/dashboard">Back to the dashboard</a></p></section>`, signedIn)
}

export interface Overview {
  now: number
  catalogVersion: string | null
  models: number
  providers: ProviderView[]
  keys: Array<{ view: KeyView; money: KeyMoney }>
  /** Where this page of keys starts (an offset into the listing). */
  offset: number
  /** Where the next page of keys starts, or null on the last page. */
  nextOffset: number | null
  /** The new-key form's id: the same form posted twice makes one key. */
  formId: string
}

export function overviewPage(overview: Overview): string {
  const endpoints = overview.providers.flatMap((provider) => provider.endpoints)
  const unhealthy = endpoints.filter((endpoint) => endpoint.circuit !== 'closed').length
  return layout(
    'Dashboard',
    html`<section><h2>Catalog</h2>
<p>Version <code>${overview.catalogVersion ?? 'unversioned'}</code> · ${overview.providers.length} providers
(${overview.providers.filter((provider) => provider.live).length} with their secret set) · ${overview.models} models ·
${endpoints.length} endpoints, ${unhealthy} with an open or half-open circuit. Health as last published (within a minute).</p></section>
${providersSection(overview.providers, overview.now)}
${keysSection(overview)}`,
    true,
  )
}

function providersSection(providers: ProviderView[], now: number): Html {
  return html`<section><h2>Providers and endpoints</h2>
<table><thead><tr><th>provider</th><th>format</th><th>region</th><th>secret</th><th>endpoint</th><th>circuit</th><th>uptime 30 min</th><th>TTFB p50 / p99</th><th>throughput p50</th></tr></thead>
<tbody>${providers.map((provider) =>
    provider.endpoints.length === 0
      ? html`<tr>${providerCells(provider, 1)}<td colspan="5">no endpoints in the catalog</td></tr>`
      : provider.endpoints.map((endpoint, i) => html`<tr>${i === 0 ? providerCells(provider, provider.endpoints.length) : ''}${endpointCells(endpoint, now)}</tr>`),
  )}</tbody></table></section>`
}

function providerCells(provider: ProviderView, rows: number): Html {
  return html`<td rowspan="${rows}"><strong>${provider.name}</strong><br><code>${provider.slug}</code></td><td rowspan="${rows}">${provider.format}</td>
<td rowspan="${rows}">${provider.region.name}</td><td rowspan="${rows}">${provider.live ? html`<span class="tag ok">set</span>` : html`<span class="tag off">missing</span>`}</td>`
}

function endpointCells(endpoint: ProviderView['endpoints'][number], now: number): Html {
  const latency = endpoint.latency_last_30m
  const throughput = endpoint.throughput_last_30m
  return html`<td><code>${endpoint.endpoint}</code></td><td>${circuitTag(endpoint.circuit)}${
    endpoint.cooling_until !== null && endpoint.cooling_until > now
      ? html` <span class="tag warn">rate-limited ${Math.ceil((endpoint.cooling_until - now) / 1000)} s more</span>`
      : ''
  }</td>
<td class="num">${endpoint.uptime_last_30m === null ? '–' : `${(Math.floor(endpoint.uptime_last_30m * 10) / 10).toFixed(1)}%`}</td>
<td class="num">${latency ? `${milliseconds(latency.p50)} / ${milliseconds(latency.p99)}` : '–'}</td>
<td class="num">${throughput ? `${Math.round(throughput.p50)} tokens/s` : '–'}</td>`
}

/** The published latency is in seconds (OpenRouter's unit). */
function milliseconds(seconds: number): string {
  return `${Math.round(seconds * 1000)} ms`
}

function circuitTag(circuit: string): Html {
  const kind = circuit === 'closed' ? 'ok' : circuit === 'open' ? 'bad' : 'warn'
  return html`<span class="tag ${kind}">${circuit.replace('_', '-')}</span>`
}

/** The dashboard's page of keys from `offset` on. */
export function keysPage(offset: number): string {
  return offset > 0 ? `/dashboard?offset=${offset}` : '/dashboard'
}

/** Links to the first, previous and next pages of keys, where there are such pages. */
function pageLinks(offset: number, nextOffset: number | null): Html {
  const links = [
    ...(offset > 0 ? [html`<a href="${keysPage(0)}">First page of keys</a>`, html`<a href="${keysPage(Math.max(0, offset - KEYS_PER_PAGE))}">Previous page</a>`] : []),
    ...(nextOffset !== null ? [html`<a href="${keysPage(nextOffset)}">Next page of keys</a>`] : []),
  ]
  return links.length ? html`<p>${links.map((link, i) => (i ? html` · ${link}` : link))}</p>` : html``
}

function keysSection({ keys, offset, nextOffset, now, formId }: Overview): Html {
  return html`<section><h2>API keys</h2>
<table><thead><tr><th>name</th><th>key</th><th>status</th><th>limit</th><th>remaining</th><th>used today / this week / this month / in all</th><th>reserved, in flight</th><th>limits</th><th>created</th><th></th></tr></thead>
<tbody>${keys.length === 0 ? html`<tr><td colspan="10">No keys on this page.</td></tr>` : keys.map(({ view, money }) => keyRow(view, money, offset, now))}</tbody></table>
${pageLinks(offset, nextOffset)}
<h2>New key</h2>
<form method="post" action="/dashboard/keys">
<input type="hidden" name="form_id" value="${formId}">
<label>Name <input name="name" required maxlength="200"></label>
<label>Limit (USD) <input name="limit" type="number" min="0" step="any"></label>
<label>Limit resets <select name="limit_reset"><option value="">never</option><option>daily</option><option>weekly</option><option>monthly</option></select></label>
<label>Requests per minute <input name="requests_per_minute" type="number" min="1" step="1"></label>
<label>Tokens per minute <input name="tokens_per_minute" type="number" min="1" step="1"></label>
<label>Concurrent requests <input name="max_concurrency" type="number" min="1" step="1"></label>
<label>Models allowed <input name="allowed_models" placeholder="anthropic/*, openai/gpt-5"></label>
<label>Providers allowed <input name="allowed_providers" placeholder="anthropic, groq"></label>
<label>Expires (from 00:00 UTC of) <input name="expires_on" type="date"></label>
<button type="submit">Create</button>
</form></section>`
}

function keyRow(key: KeyView, money: KeyMoney, offset: number, now: number): Html {
  const expired = key.expires_at !== null && Date.parse(key.expires_at) <= now
  const status = key.disabled ? html`<span class="tag off">disabled</span>` : expired ? html`<span class="tag bad">expired</span>` : html`<span class="tag ok">active</span>`
  const rate = key.rate_limit
    ? [key.rate_limit.requests_per_minute && `${key.rate_limit.requests_per_minute} req/min`, key.rate_limit.tokens_per_minute && `${key.rate_limit.tokens_per_minute} tokens/min`].filter(Boolean).join(', ')
    : '–'
  return html`<tr><td>${key.name}</td><td><code>${key.label}</code></td><td>${status}${key.expires_at ? html`<br>until ${utcMinute(key.expires_at)}` : ''}</td>
<td class="num">${money.limit === null ? 'none' : usdText(money.limit)}${key.limit_reset ? html`<br>${key.limit_reset}` : ''}</td>
<td class="num">${money.remaining === null ? '–' : usdText(money.remaining)}</td>
<td class="num">${usdText(money.daily)} / ${usdText(money.weekly)} / ${usdText(money.monthly)} / ${usdText(money.usage)}</td>
<td class="num">${usdText(money.reserved)}, ${key.requests_in_flight}</td>
<td>${rate}${key.max_concurrency ? html`<br>${key.max_concurrency} at once` : ''}${key.allowed_models ? html`<br>models: ${key.allowed_models.join(', ')}` : ''}${
    key.allowed_providers ? html`<br>providers: ${key.allowed_providers.join(', ')}` : ''
  }</td>
<td>${key.created_at.slice(0, 10)}</td>
<td><form class="inline" method="post" action="/dashboard/keys/${key.hash}"><input type="hidden" name="offset" value="${offset}"><input type="hidden" name="disabled" value="${key.disabled ? 'false' : 'true'}"><button type="submit">${key.disabled ? 'Enable' : 'Disable'}</button></form></td></tr>`
}

/** An ISO time to the minute, in UTC, which it says: a key refused from midnight reads so. */
function utcMinute(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`
}

export function createdKeyPage(key: string, view: KeyView): string {
  return layout(
    'New key',
    html`<section><h2>Key “${view.name}” created</h2>
<p>Copy it now: it is shown only this once. Meridian keeps only its hash.</p>
<p class="secret">${key}</p>
<p><a href="/dashboard">Back to the dashboard</a></p></section>`,
    true,
  )
}

export function alreadyCreatedPage(): string {
  return layout(
    'Key already created',
    html`<section><h2>This form was already sent</h2>
<p>Its key was created then and is listed on the dashboard; its secret was shown that once. No second key was made.</p>
<p><a href="/dashboard">Back to the dashboard</a></p></section>`,
    true,
  )
}

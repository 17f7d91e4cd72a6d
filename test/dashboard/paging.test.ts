import { beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, BASE, createKey, gatewayFetch, setUpGateway } from '../support/gateway'

/** The dashboard past its first page of keys, and the methods its pages take. */

setUpGateway()

const SAME_SITE = { origin: BASE, 'content-type': 'application/x-www-form-urlencoded' }

function post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return gatewayFetch(path, { method: 'POST', headers: { ...SAME_SITE, ...headers }, body: new URLSearchParams(fields), redirect: 'manual' })
}

async function signIn(): Promise<string> {
  const response = await post('/dashboard/sign-in', { token: ADMIN_TOKEN })
  expect(response.status).toBe(303)
  return response.headers.get('set-cookie')!.split(';')[0]!
}

function page(cookie: string, path = '/dashboard'): Promise<Response> {
  return gatewayFetch(path, { headers: { cookie } })
}

describe('the dashboard past its first page of keys', () => {
  let hash = ''
  beforeAll(async () => {
    for (let i = 0; i < 100; i++) await createKey({ name: `filler-${i}` })
    // Listed oldest first: a later key is on the second page.
    await new Promise((resolve) => setTimeout(resolve, 5))
    hash = (await createKey({ name: 'on page two' })).hash
  }, 60_000)

  it('brings the operator back to the page they were on after disabling a key there', async () => {
    const cookie = await signIn()
    const second = await (await page(cookie, '/dashboard?offset=100')).text()
    expect(second).toContain(`action="/dashboard/keys/${hash}"`)
    const disabled = await post(`/dashboard/keys/${hash}`, { disabled: 'true', offset: '100' }, { cookie })
    expect(disabled.status).toBe(303)
    expect(disabled.headers.get('location')).toBe('/dashboard?offset=100')
    const landing = await (await page(cookie, disabled.headers.get('location')!)).text()
    expect(landing).toContain('<td>on page two</td>')
    expect(landing).toMatch(/<tr><td>on page two<\/td>.*?disabled/s)
  })

  it('links a later page back to the first and the previous, and the first page on', async () => {
    const cookie = await signIn()
    const links = async (path: string) => [...(await (await page(cookie, path)).text()).matchAll(/<a href="([^"]*)">/g)].map((match) => match[1])
    // First page, previous page (also the first).
    expect(await links('/dashboard?offset=100')).toEqual(['/dashboard', '/dashboard'])
    expect(await links('/dashboard?offset=1')).toEqual(['/dashboard', '/dashboard', '/dashboard?offset=101'])
    expect(await links('/dashboard')).toEqual(['/dashboard?offset=100'])
  })
})

describe('the dashboard’s methods', () => {
  it('answers a method a page does not take with 405 and the method it does', async () => {
    const cookie = await signIn()
    const answers = [await post('/dashboard', {}, { cookie }), await page(cookie, '/dashboard/sign-out'), await page(cookie, '/dashboard/keys')]
    expect(answers.map((answer) => [answer.status, answer.headers.get('allow')])).toEqual([
      [405, 'GET'],
      [405, 'POST'],
      [405, 'POST'],
    ])
  })
})

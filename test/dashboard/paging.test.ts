import { beforeAll, describe, expect, it } from 'vitest'
import { dashboardPage, postForm, signIn } from '../support/dashboard'
import { createKey, setUpGateway } from '../support/gateway'

/** The dashboard past its first page of keys, and the methods its pages take. */

setUpGateway()

describe('the dashboard past its first page of keys', () => {
  let hash = ''
  beforeAll(async () => {
    // Listed newest first: the oldest key is on the second page.
    hash = (await createKey({ name: 'on page two' })).hash
    await new Promise((resolve) => setTimeout(resolve, 5))
    for (let i = 0; i < 100; i++) await createKey({ name: `filler-${i}` })
  }, 60_000)

  it('brings the operator back to the page they were on after disabling a key there', async () => {
    const cookie = await signIn()
    const second = await (await dashboardPage(cookie, '/dashboard?offset=100')).text()
    expect(second).toContain(`action="/dashboard/keys/${hash}"`)
    const disabled = await postForm(`/dashboard/keys/${hash}`, { disabled: 'true', offset: '100' }, { cookie })
    expect(disabled.status).toBe(303)
    expect(disabled.headers.get('location')).toBe('/dashboard?offset=100')
    const landing = await (await dashboardPage(cookie, disabled.headers.get('location')!)).text()
    expect(landing).toContain('<td>on page two</td>')
    expect(landing).toMatch(/<tr><td>on page two<\/td>.*?disabled/s)
  })

  it('links a later page back to the first and the previous, and the first page on', async () => {
    const cookie = await signIn()
    const links = async (path: string) => [...(await (await dashboardPage(cookie, path)).text()).matchAll(/<a href="([^"]*)">/g)].map((match) => match[1])
    // First page, previous page (also the first).
    expect(await links('/dashboard?offset=100')).toEqual(['/dashboard', '/dashboard'])
    expect(await links('/dashboard?offset=1')).toEqual(['/dashboard', '/dashboard', '/dashboard?offset=101'])
    expect(await links('/dashboard')).toEqual(['/dashboard?offset=100'])
  })
})

describe('the dashboard’s methods', () => {
  it('answers a method a page does not take with 405 and the method it does', async () => {
    const cookie = await signIn()
    const answers = [await postForm('/dashboard', {}, { cookie }), await dashboardPage(cookie, '/dashboard/sign-out'), await dashboardPage(cookie, '/dashboard/keys')]
    expect(answers.map((answer) => [answer.status, answer.headers.get('allow')])).toEqual([
      [405, 'GET'],
      [405, 'POST'],
      [405, 'POST'],
    ])
  })
})

/**
 * A node with `api.token`: the page shows a login field and nothing of the
 * mesh until it is given the token, keeps it in the tab's session storage, and
 * sends it with every data request, the stream included. The stream is
 * guarded like the rest of /api/*; the page's files are not (no mesh data).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page, Request } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, launchChromium, watchPage, type Browser, type PageWatch } from '../support/browser.js'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { lacks } from '../support/packages.js'
import { waitFor } from '../support/wait.js'

const TOKEN = 'correct-horse-battery-staple'

describe.skipIf(lacks('chromium', CHROMIUM))('the web page with an API token', () => {
  const cluster = new Cluster()
  let dir: string
  let node: NodeProc
  let browser: Browser
  let page: Page
  let watch: PageWatch
  const apiRequests: Request[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-web-token-'))
    await cluster.init()
    await writeFile(join(dir, 'node.yml'), `api: { token: ${TOKEN} }\n`)
    node = await cluster.start('guarded', ['--config', join(dir, 'node.yml')], { token: TOKEN })
    browser = await launchChromium()
    page = await browser.context.newPage()
    watch = watchPage(page)
    page.on('request', r => { if (new URL(r.url()).pathname.startsWith('/api/')) apiRequests.push(r) })
  })
  afterAll(async () => {
    await browser?.close()
    await cluster.stopAll()
    await rm(dir, { recursive: true, force: true })
  })

  it('the stream answers 401 without the token, like the rest of /api', async () => {
    const res = await fetch(`${node.api}/api/v1/stream`)
    expect(res.status).toBe(401)
    expect(typeof (await res.json() as { error: unknown }).error).toBe('string')
    const ok = await fetch(`${node.api}/api/v1/stream`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(ok.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    await ok.body?.cancel()
    expect((await fetch(`${node.api}/`)).status).toBe(200)
  })

  it('without the token: a login field and nothing of the mesh', async () => {
    await page.goto(`${node.api}/`)
    await waitFor('the login field', async () => await page.locator('#login input[type=password]').count() === 1)
    const text = await page.locator('body').innerText()
    expect(text).not.toContain('guarded')
    expect(text).not.toContain(node.peerId as string)
    expect(await page.locator('#nodes').count()).toBe(0)
  })

  it('a wrong token is refused and still shows nothing', async () => {
    await page.locator('#login input').fill('wrong-token')
    await page.locator('#login button').click()
    await waitFor('the refusal', async () => (await page.locator('#login').innerText()).includes('That token was refused'))
    expect(await page.locator('body').innerText()).not.toContain('guarded')
  })

  it('with the token: the mesh, every data request carrying it, kept across a reload of the tab', async () => {
    await page.locator('#login input').fill(TOKEN)
    await page.locator('#login button').click()
    await waitFor('the node listed', async () => await page.locator(`#nodes .row[data-peer="${node.peerId as string}"]`).count() === 1)
    expect(await page.evaluate('sessionStorage.getItem("meshmon.token")')).toBe(TOKEN)
    const sent = apiRequests.length
    await page.reload()
    await waitFor('the node listed after a reload', async () => await page.locator('#nodes .row').count() === 1)
    const after = apiRequests.slice(sent)
    expect(after.length).toBeGreaterThan(0)
    for (const r of after) expect(await r.headerValue('authorization')).toBe(`Bearer ${TOKEN}`)
  })

  it('forget token: back to the login field, the mesh gone', async () => {
    await page.locator('button.logout').click()
    await waitFor('the login field', async () => await page.locator('#login').count() === 1)
    expect(await page.locator('body').innerText()).not.toContain('guarded')
    expect(await page.evaluate('sessionStorage.getItem("meshmon.token")')).toBeNull()
  })

  it('logged no error but the 401s it was meant to get', () => {
    expect(watch.errors.filter(e => !e.text.includes('401') && !(e.url.endsWith('/api/v1/devices') && e.text.includes('404')))).toEqual([])
  })
})

/**
 * The web page as a person sees it, in Debian's headless Chromium, served by a
 * real 3-node mesh: every node listed, a kill -9 shown live, a node's checks
 * one click (or Enter) away, a phone-sized screen without sideways scrolling,
 * no console errors, and no request to anything but the node.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, launchChromium, watchPage, type Browser, type PageWatch } from '../support/browser.js'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { lacks } from '../support/packages.js'
import { freePort } from '../support/ports.js'
import { waitFor } from '../support/wait.js'

/** what the row of `peerId` says (empty when it is not shown) */
async function rowText (page: Page, peerId: string): Promise<string> {
  const row = page.locator(`#nodes .row[data-peer="${peerId}"]`)
  return await row.count() === 0 ? '' : await row.innerText()
}

/** the state a row shows: its word, and the shape the stylesheet draws before it */
async function stateOf (page: Page, peerId: string): Promise<string> {
  const badge = `#nodes .row[data-peer="${peerId}"] .badge`
  if (await page.locator(badge).count() === 0) return ''
  const shape = await page.evaluate(`getComputedStyle(document.querySelector('${badge}'), '::before').content`) as string
  return `${/"(.)"/.exec(shape)?.[1] ?? '?'} ${await page.locator(badge).innerText()}`
}

/** console errors, less a 404 of the device endpoints: a node without them answers so, and the page hides the section */
const unexpected = (watch: PageWatch): PageWatch['errors'] =>
  watch.errors.filter(e => !(/\/api\/v1\/devices(\/counts)?$/.test(e.url) && e.text.includes('404')))

describe.skipIf(lacks('chromium', CHROMIUM))('the web page on a live mesh', () => {
  const cluster = new Cluster()
  let dir: string
  let a: NodeProc, b: NodeProc, c: NodeProc
  let browser: Browser
  let page: Page
  let watch: PageWatch

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-web-'))
    await cluster.init()
    // b has a check that fails (nothing listens on that port); a's always passes
    await writeFile(join(dir, 'a.yml'), 'labels: { role: web }\nchecks:\n  - { name: mem, type: memory, interval: 1s, warning: 0, critical: 0 }\n')
    await writeFile(join(dir, 'b.yml'), `labels: { role: db }\nchecks:\n  - { name: db-port, type: tcp, interval: 1s, host: 127.0.0.1, port: ${await freePort()} }\n`)
    a = await cluster.start('alpha', ['--config', join(dir, 'a.yml')])
    b = await cluster.start('bravo', ['--config', join(dir, 'b.yml')])
    c = await cluster.start('charlie')
    await cluster.waitAll(3)
    browser = await launchChromium()
    page = await browser.context.newPage()
    watch = watchPage(page)
    await page.goto(`${a.api}/`)
  })
  afterAll(async () => {
    await browser?.close()
    await cluster.stopAll()
    await rm(dir, { recursive: true, force: true })
  })

  it('lists the 3 nodes, the one with a failing check first, and its alert', async () => {
    await waitFor('3 rows', async () => await page.locator('#nodes .row').count() === 3)
    await waitFor('bravo\'s failing check on the page', async () => (await rowText(page, b.peerId as string)).includes('1 failing: db-port'))
    const names = await page.locator('#nodes .row .c-name b').allInnerTexts()
    expect(names).toEqual(['bravo', 'alpha', 'charlie'])
    for (const n of [a, b, c]) expect(await stateOf(page, n.peerId as string)).toBe('✓ up')
    expect(await rowText(page, a.peerId as string)).toMatch(/cpu \d+%[\s\S]*mem \d+%[\s\S]*disk \d+%[\s\S]*gpu –/)
    expect(await rowText(page, a.peerId as string)).toContain('this node')
    await waitFor('the alert', async () => (await page.locator('#alerts').innerText()).includes('check db-port on bravo is CRITICAL'))
    // no device reports to these nodes (their counts are all 0): no devices section
    expect(await page.locator('#devices').count()).toBe(0)
  })

  it('a node killed with -9 turns down without a reload', async () => {
    // browser-side code as strings: this file is typechecked without the DOM library
    await page.evaluate('window.sameDocument = true')
    c.child.kill('SIGKILL')
    await waitFor('charlie down on the page', async () => await stateOf(page, c.peerId as string) === '✕ down', 20_000)
    expect(await page.evaluate('window.sameDocument')).toBe(true)
    // trouble first: the down node leads the list now
    expect(await page.locator('#nodes .row .c-name b').first().innerText()).toBe('charlie')
    await waitFor('the down alert', async () => (await page.locator('#alerts').innerText()).includes('charlie is down'))
    // the event log's new entry reaches the page through the stream too
    await waitFor('the peer.down event', async () => /peer\.down\s+charlie/.test(await page.locator('.events').innerText()), 20_000)
  })

  it('a node stopped with SIGSTOP turns down, and up again on SIGCONT, without a reload', async () => {
    const pid = b.child.pid as number
    process.kill(pid, 'SIGSTOP')
    try {
      await waitFor('bravo down on the page', async () => await stateOf(page, b.peerId as string) === '✕ down', 30_000)
    } finally { process.kill(pid, 'SIGCONT') }
    await waitFor('bravo up again', async () => await stateOf(page, b.peerId as string) === '✓ up', 30_000)
    expect(await page.evaluate('window.sameDocument')).toBe(true)
  })

  it('a click opens a node with its checks; Escape returns to the list', async () => {
    await page.locator(`#nodes .row[data-peer="${b.peerId as string}"]`).click()
    await waitFor('bravo\'s page', async () => (await page.locator('#node h1').innerText()).startsWith('bravo'))
    expect(new URL(page.url()).hash).toBe(`#/node/${b.peerId as string}`)
    const check = await page.locator('#node .check').innerText()
    expect(check).toMatch(/CRITICAL\s+db-port\s+tcp/)
    expect(check).toMatch(/last run \d+s ago/)
    expect(await page.locator('#node').innerText()).toMatch(/Filesystems[\s\S]*Network[\s\S]*role=db[\s\S]*\/ip4\/127\.0\.0\.1\/tcp\//)
    await page.keyboard.press('Escape')
    await waitFor('the list again', async () => await page.locator('#nodes .row').count() === 3)
    expect(new URL(page.url()).hash).toBe('')
    // focus is back on the row that was opened, and Enter opens it again
    await waitFor('focus back on the row that was opened', async () => await page.evaluate('document.activeElement?.dataset?.peer') === b.peerId)
    await page.keyboard.press('Enter')
    await waitFor('bravo\'s page by keyboard', async () => (await page.locator('#node h1').count()) === 1)
    await page.goBack()
    await waitFor('the list after back', async () => await page.locator('#nodes .row').count() === 3)
  })

  it('a node\'s page is bookmarkable', async () => {
    const other = await browser.context.newPage()
    const w = watchPage(other)
    await other.goto(`${a.api}/#/node/${a.peerId as string}`)
    await waitFor('alpha\'s page', async () => (await other.locator('#node h1').count() === 1 && (await other.locator('#node h1').innerText()).startsWith('alpha')))
    expect(await other.locator('#node .check').innerText()).toMatch(/OK\s+mem\s+memory/)
    await other.close()
    expect(unexpected(w)).toEqual([])
  })

  it('filters by label and by state', async () => {
    await page.locator('input[type=search]').fill('role=db')
    await waitFor('one row', async () => await page.locator('#nodes .row').count() === 1)
    expect(await rowText(page, b.peerId as string)).toContain('bravo')
    await page.locator('input[type=search]').fill('')
    await page.locator('.chip', { hasText: 'down' }).click()
    await waitFor('the down node only', async () => await page.locator('#nodes .row').count() === 1)
    expect(await rowText(page, c.peerId as string)).toContain('charlie')
    expect(new URL(page.url()).hash).toBe('#/?state=down')
    await page.locator('.chip', { hasText: 'all' }).click()
  })

  it('fits a 390 px phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await waitFor('3 rows', async () => await page.locator('#nodes .row').count() === 3)
    const fits = async (): Promise<boolean> => await page.evaluate('document.scrollingElement.scrollWidth <= innerWidth')
    expect(await fits()).toBe(true)
    await page.goto(`${a.api}/#/node/${b.peerId as string}`)
    await waitFor('bravo\'s page', async () => await page.locator('#node .check').count() === 1)
    expect(await fits()).toBe(true)
    await page.setViewportSize({ width: 1280, height: 900 })
  })

  it('made no request but to its node, and logged no error', async () => {
    const origin = new URL(a.api).origin
    expect(watch.requests.length).toBeGreaterThan(3)
    expect(watch.requests.filter(u => new URL(u).origin !== origin)).toEqual([])
    expect(unexpected(watch)).toEqual([])
  })

  it('reconnects by itself when its node restarts', async () => {
    await page.goto(`${a.api}/`)
    await page.evaluate('window.sameDocument = true')
    const live = async (): Promise<boolean> => await page.locator('.conn-live').count() === 1
    await waitFor('live', live)
    a.child.kill('SIGKILL')
    await cluster.exited(a)
    await waitFor('the page to notice', async () => await page.locator('.conn-retrying').count() === 1)
    expect(await page.locator('.stale').innerText()).toMatch(/connection to this node was lost/)
    // what it showed stays, marked stale
    expect(await page.locator('#nodes .row').count()).toBe(3)
    const again = await cluster.start('alpha', ['--config', join(dir, 'a.yml')], { dataDir: a.dataDir, ports: { p2p: a.p2pPort, api: a.apiPort }, bootstrap: [b.addr] })
    expect(again.peerId).toBe(a.peerId)
    await waitFor('live again', live, 20_000)
    expect(await page.locator('.stale').count()).toBe(0)
    await waitFor('bravo listed', async () => (await rowText(page, b.peerId as string)).includes('bravo'), 20_000)
    expect(await page.evaluate('window.sameDocument')).toBe(true)
  })
})

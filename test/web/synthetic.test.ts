/**
 * The page over a node's real API in this process (feed, stream, files) and a
 * synthetic peer table: a mesh of 500 renders whole and filters, and devices
 * show as GET /api/v1/devices lists them (the endpoint's shape and query
 * code, over device views the test holds).
 */
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { join } from 'node:path'
import pino from 'pino'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deriveAlerts } from '../../src/alerts/index.js'
import { createApi } from '../../src/api/app.js'
import { MeshFeed } from '../../src/api/feed.js'
import { closeServer, listenApi } from '../../src/api/server.js'
import { loadWebFiles } from '../../src/api/web.js'
import { countStates, queryDevices } from '../../src/devices/view.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { CHROMIUM, launchChromium, watchPage, type Browser, type PageWatch } from '../support/browser.js'
import { lacks } from '../support/packages.js'
import { repoRoot } from '../support/root.js'
import { syntheticPeers } from '../support/synthetic.js'
import { waitFor } from '../support/wait.js'

/** the query string of every device list the page asked for */
const listQueries: string[] = []
let DEVICES = [
  { id: 'rig-07', project: 'DecentralGPT', via: '12D3KooWVia', state: 'up', stateSince: new Date().toISOString(), lastSeen: new Date().toISOString(), gpus: [{ index: 0, name: 'RTX 4090', utilizationRatio: 0.3 }], models: [{ model: 'llama-3' }], memoryTotal: 24564, metrics: {}, status: 'ok', message: '' },
  { id: 'rig-02', project: 'DecentralGPT', via: '12D3KooWVia', state: 'down', stateSince: new Date().toISOString(), lastSeen: new Date(Date.now() - 120_000).toISOString(), gpus: [], models: [], memoryTotal: 0, metrics: {}, status: 'critical', message: 'fan failed' }
]

describe.skipIf(lacks('chromium', CHROMIUM))('the web page over a synthetic mesh', () => {
  const table = new PeerTable()
  let feed: MeshFeed
  let server: Server
  let url: string
  let browser: Browser
  let page: Page
  let watch: PageWatch

  beforeAll(async () => {
    for (const { peerId, record } of syntheticPeers(500)) table.apply(peerId, record)
    feed = new MeshFeed({ table, alerts: () => deriveAlerts(table.list(), { mesh: 't', generatorURL: 'http://t/' }), recentEvents: async () => [], onEvents: () => () => {}, log: pino({ level: 'silent' }) })
    feed.start()
    // the devices as the endpoint lists them (the device module's part, served here by the test)
    const devices = {
      list: (q: URLSearchParams) => { listQueries.push(q.toString()); return queryDevices(DEVICES, q) },
      counts: () => countStates(DEVICES),
      push: () => new Response(null, { status: 404 })
    }
    const app = createApi({ table, running: () => true, feed, web: await loadWebFiles(join(repoRoot(), 'dist', 'web')), devices })
    server = await listenApi(app, '127.0.0.1:0')
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    browser = await launchChromium()
    page = await browser.context.newPage()
    watch = watchPage(page)
    await page.goto(url)
  })
  afterAll(async () => {
    await browser?.close()
    feed?.stop()
    if (server !== undefined) await closeServer(server)
  })

  it('renders all 500 nodes, trouble first, and filters them', async () => {
    await waitFor('500 rows', async () => await page.locator('#nodes .row').count() === 500, 30_000)
    // 88 failing checks: the first alerts show, the rest fold away, and the list starts on the first screen
    expect(await page.locator('#alerts > ul > li').count()).toBe(5)
    expect(await page.locator('#alerts details summary').innerText()).toBe('83 more')
    // the folded ones are built when opened, and gone again when closed
    expect(await page.locator('#alerts details li').count()).toBe(0)
    await page.locator('#alerts details summary').click()
    await waitFor('83 folded alerts shown', async () => await page.locator('#alerts details li').count() === 83)
    await page.locator('#alerts details summary').click()
    await waitFor('folded again', async () => await page.locator('#alerts details li').count() === 0)
    expect(await page.evaluate('document.querySelector("#nodes").getBoundingClientRect().top < innerHeight')).toBe(true)
    // textContent: rows off screen are not laid out (content-visibility), so they have no innerText
    const first = await page.locator('#nodes .row .c-checks').first().textContent()
    expect(first).toMatch(/^✕ 1 failing: /)
    await page.locator('input[type=search]').fill('role=web')
    await waitFor('250 rows', async () => await page.locator('#nodes .row').count() === 250)
    await page.locator('input[type=search]').fill('node-042')
    await waitFor('one row', async () => await page.locator('#nodes .row').count() === 1)
    await page.locator('input[type=search]').fill('')
  })

  it('follows a change to one of 500 without a reload', async () => {
    const victim = table.list().find(p => p.name === 'node-321')
    if (victim === undefined) throw new Error('node-321 is in the table')
    table.setState(victim, 'down', 'silent')
    await waitFor('node-321 first, down', async () => (await page.locator('#nodes .row').first().textContent())?.includes('node-321'))
    expect(await page.locator('#nodes .row').first().locator('.badge').textContent()).toBe('down')
  })

  it('lists devices from /api/v1/devices, the down one first', async () => {
    await waitFor('the devices section', async () => await page.locator('#devices .row').count() === 2)
    const rows = await page.locator('#devices .row').allInnerTexts()
    expect(rows[0]).toMatch(/down[\s\S]*rig-02[\s\S]*critical: fan failed/)
    expect(rows[1]).toMatch(/up[\s\S]*rig-07[\s\S]*DecentralGPT[\s\S]*gpu 30%/)
    expect(watch.errors).toEqual([])
  })

  it('shows a fleet of 1000 devices trouble first, 50 rows at a time', async () => {
    const now = new Date().toISOString()
    DEVICES = Array.from({ length: 1000 }, (_, i) => ({ ...(DEVICES[0] as (typeof DEVICES)[number]), id: `dev-${String(i).padStart(4, '0')}`, state: i % 400 === 7 ? 'down' : 'up', stateSince: now, lastSeen: now }))
    // the page reads the list again every 5 s
    await waitFor('the fleet listed', async () => (await page.locator('#devices h2').textContent())?.startsWith('1000 devices') === true, 20_000)
    expect(await page.locator('#devices h2').textContent()).toBe('1000 devices 3 down · 997 up')
    expect(await page.locator('#devices .row').count()).toBe(50)
    expect(await page.locator('#devices .row .badge').first().textContent()).toBe('down')
    expect(await page.locator('#devices .row .c-name b').nth(2).textContent()).toBe('dev-0807')
    await page.locator('#devices button.more').click()
    await waitFor('550 device rows', async () => await page.locator('#devices .row').count() === 550)
    expect(await page.locator('#devices button.more').textContent()).toBe('show 450 more of 450')
    // the page asked the node for the rows it shows, never for the whole fleet
    expect(new Set(listQueries)).toEqual(new Set(['order=trouble&limit=50', 'order=trouble&limit=550']))
    expect(watch.errors).toEqual([])
  })
})

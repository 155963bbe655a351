/**
 * The web page with a 500-peer mesh, in Debian's headless Chromium: time from
 * navigation start to the snapshot, to the first paint of the list and to
 * every row in the page, then the time from a stream message to the paint
 * after it while records arrive as such a mesh sends them and peers
 * go down and come back, and the long tasks (> 50 ms, jank) meanwhile.
 * The node side is the real API (feed, SSE, static files) in this process over
 * a synthetic peer table. The page records these times itself (performance
 * measures meshmon:snapshot, meshmon:first-render, meshmon:all-rows, meshmon:update).
 */
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import pino from 'pino'
import type { Page } from 'playwright-core'
import { deriveAlerts } from '../src/alerts/index.js'
import { createApi } from '../src/api/app.js'
import { MeshFeed } from '../src/api/feed.js'
import { closeServer, listenApi } from '../src/api/server.js'
import { loadWebFiles } from '../src/api/web.js'
import { PeerTable } from '../src/heartbeat/peer-table.js'
import { launchChromium } from '../test/support/browser.js'
import { repoRoot } from '../test/support/root.js'
import { syntheticPeers } from '../test/support/synthetic.js'

export interface WebBenchResult {
  peers: number
  /** /api/v1/peers, about the size of the stream's snapshot */
  peersJsonBytes: number
  /** page loads measured */
  loads: number
  /** navigation start to the snapshot parsed (the node's part and the transfer) */
  snapshotP50Ms: number
  /** navigation start to the first paint of the list (its first slice of rows) */
  firstRenderP50Ms: number
  firstRenderMaxMs: number
  /** navigation start to every row in the page */
  allRowsP50Ms: number
  /** stream messages applied and painted during the update phase */
  updates: number
  updateP50Ms: number
  updateP99Ms: number
  /** main-thread tasks over 50 ms during the update phase */
  longTasks: number
  longestTaskMs: number
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return Math.round((s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? NaN) * 10) / 10
}

// browser-side code as strings: bench/ is compiled without the DOM library
const WATCH_LONG_TASKS = 'window.longTasks = []; new PerformanceObserver(l => { for (const e of l.getEntries()) window.longTasks.push(e.duration) }).observe({ type: "longtask" })'
const measures = (name: string): string => `performance.getEntriesByName(${JSON.stringify(name)}).map(e => e.duration)`

/** until the page has every row: it says so itself (polling the DOM for rows would cost the page's own thread) */
async function allRows (page: Page): Promise<void> {
  // a function, not a string: the page's CSP forbids eval, which waitForFunction would use for a string
  await page.waitForFunction(() => performance.getEntriesByName('meshmon:all-rows').length > 0, undefined, { polling: 100, timeout: 30_000 })
}

export async function benchWeb (peers = 500, loads = 5, updateMs = 10_000): Promise<WebBenchResult> {
  const web = await loadWebFiles(join(repoRoot(), 'dist', 'web'))
  if (web === undefined) throw new Error('dist/web is missing: run `npm run build`')
  const table = new PeerTable()
  const synthetic = syntheticPeers(peers)
  for (const { peerId, record } of synthetic) table.apply(peerId, record)
  const feed = new MeshFeed({
    table,
    alerts: () => deriveAlerts(table.list(), { mesh: 'bench', generatorURL: 'http://bench/' }),
    recentEvents: async () => [],
    onEvents: () => () => {},
    log: pino({ level: 'warn' })
  })
  feed.start()
  const server = await listenApi(createApi({ table, running: () => true, feed, web }), '127.0.0.1:0')
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  const browser = await launchChromium({ width: 1600, height: 1000 })
  try {
    const peersJsonBytes = Buffer.byteLength(await (await fetch(`${url}api/v1/peers`)).text())
    const firstRender: number[] = []
    const snapshot: number[] = []
    const everyRow: number[] = []
    for (let i = 0; i < loads; i++) {
      const page = await browser.context.newPage()
      await page.goto(url)
      await allRows(page)
      firstRender.push(...await page.evaluate(measures('meshmon:first-render')) as number[])
      snapshot.push(...await page.evaluate(measures('meshmon:snapshot')) as number[])
      everyRow.push(...await page.evaluate(measures('meshmon:all-rows')) as number[])
      await page.close()
    }
    const page = await browser.context.newPage()
    await page.addInitScript(WATCH_LONG_TASKS)
    await page.goto(url)
    await allRows(page)
    const before = await page.evaluate(measures('meshmon:update')) as number[]
    const tasksBefore = (await page.evaluate('window.longTasks') as number[]).length
    // records from every peer every 10 s (in 100 ms slices), and a peer down and back each second
    let seq = 1
    let next = 0
    let tick = 0
    const timer = setInterval(() => {
      seq++
      for (let i = 0; i < Math.ceil(peers / 100); i++) {
        const { peerId, record } = synthetic[next++ % peers] as (typeof synthetic)[number]
        const machine = record.machine
        table.apply(peerId, { ...record, seq, machine: machine == null ? null : { ...machine, cpu: { ...machine.cpu, usageRatio: Math.random() } } })
      }
      if (++tick % 10 === 0) {
        const p = table.get(synthetic[(tick / 10) % peers]?.peerId as string)
        if (p !== undefined) table.setState(p, p.state === 'down' ? 'up' : 'down', 'silent')
      }
    }, 100)
    await new Promise(resolve => setTimeout(resolve, updateMs))
    clearInterval(timer)
    const updates = (await page.evaluate(measures('meshmon:update')) as number[]).slice(before.length)
    const longTasks = (await page.evaluate('window.longTasks') as number[]).slice(tasksBefore)
    return {
      peers,
      peersJsonBytes,
      loads,
      snapshotP50Ms: quantile(snapshot, 0.5),
      firstRenderP50Ms: quantile(firstRender, 0.5),
      firstRenderMaxMs: quantile(firstRender, 1),
      allRowsP50Ms: quantile(everyRow, 0.5),
      updates: updates.length,
      updateP50Ms: quantile(updates, 0.5),
      updateP99Ms: quantile(updates, 0.99),
      longTasks: longTasks.length,
      longestTaskMs: Math.round(Math.max(0, ...longTasks))
    }
  } finally {
    await browser.close()
    feed.stop()
    await closeServer(server)
  }
}

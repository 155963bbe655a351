/**
 * `npm run screenshot`: docs/screenshot.png, the page of a real 3-node mesh on
 * 127.0.0.1 with one node killed (down) and one failing check, as Chromium
 * renders it. Run it again after changing the page.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { launchChromium } from '../test/support/browser.js'
import { Cluster, killStartedNodes } from '../test/support/cluster.js'
import { freePort } from '../test/support/ports.js'
import { repoRoot } from '../test/support/root.js'
import { waitFor } from '../test/support/wait.js'

const out = join(repoRoot(), 'docs', 'screenshot.png')
const cluster = await new Cluster().init()
const browser = await launchChromium({ width: 1280, height: 720 })
try {
  const config = async (name: string, text: string): Promise<string> => {
    const file = join(cluster.dir, `${name}.yml`)
    await writeFile(file, text)
    return file
  }
  const web = await config('web', 'labels: { role: web, project: demo }\nchecks:\n  - { name: memory, type: memory, interval: 2s, warning: 0, critical: 0 }\n')
  const db = await config('db', `labels: { role: db, project: demo }\nchecks:\n  - { name: postgres, type: tcp, interval: 2s, host: 127.0.0.1, port: ${await freePort()} }\n  - { name: memory, type: memory, interval: 2s, warning: 0, critical: 0 }\n`)
  const gpu = await config('gpu', 'labels: { role: gpu-worker, project: demo }\n')
  const a = await cluster.start('web-01', ['--config', web])
  await cluster.start('db-01', ['--config', db])
  const c = await cluster.start('gpu-01', ['--config', gpu])
  await cluster.waitAll(3)
  const page = await browser.context.newPage()
  await page.goto(`${a.api}/`)
  await waitFor('3 nodes on the page', async () => await page.locator('#nodes .row').count() === 3)
  await waitFor('the failing check', async () => (await page.locator('#nodes').innerText()).includes('1 failing'))
  c.child.kill('SIGKILL')
  await waitFor('gpu-01 down on the page', async () => (await page.locator(`#nodes .row[data-peer="${c.peerId as string}"]`).innerText()).includes('down'), 30_000)
  await waitFor('its event', async () => (await page.locator('.events').innerText()).includes('peer.down'), 30_000)
  await mkdir(join(repoRoot(), 'docs'), { recursive: true })
  await page.screenshot({ path: out, fullPage: false })
  console.log(`written ${out}`)
} finally {
  await browser.close()
  await cluster.stopAll()
  killStartedNodes()
}

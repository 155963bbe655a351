/**
 * stop() leaves nothing behind: no timer, no request, no listener on the peer
 * table, so a process that stops its pusher can exit.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { alerting } from '../../src/alerts/index.js'
import { collect } from '../support/cli.js'
import { freePort } from '../support/ports.js'
import { waitFor } from '../support/wait.js'
import { FakeAlertmanager } from './fake-alertmanager.js'
import { MeshView } from './helpers.js'

/**
 * Tracks timers created from src/alerts, until restore(): wraps the global
 * timer functions (the pusher calls them at run time) and keeps those neither
 * cleared nor fired. Other parts of the process (undici, vitest) have timers of
 * their own, so a global count would not say whose a timer is.
 */
function trackAlertTimers (): { pending: () => number, restore: () => void } {
  const live = new Set<unknown>()
  const g = globalThis as any
  const orig = { setTimeout: g.setTimeout, setInterval: g.setInterval, clearTimeout: g.clearTimeout, clearInterval: g.clearInterval }
  const ours = (): boolean => /src[\\/]alerts[\\/]/.test(new Error().stack ?? '')
  g.setTimeout = (cb: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const mine = ours()
    const t = orig.setTimeout((...a: unknown[]) => { live.delete(t); cb(...a) }, ms, ...args)
    if (mine) live.add(t)
    return t
  }
  g.setInterval = (cb: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const t = orig.setInterval(cb, ms, ...args)
    if (ours()) live.add(t)
    return t
  }
  g.clearTimeout = (t: unknown) => { live.delete(t); orig.clearTimeout(t) }
  g.clearInterval = (t: unknown) => { live.delete(t); orig.clearInterval(t) }
  return { pending: () => live.size, restore: () => { Object.assign(g, orig) } }
}

describe('stopping the pusher', () => {
  let hanging: FakeAlertmanager
  afterEach(async () => { await hanging?.stop() })

  it('stop() aborts a request in flight, clears every timer and stops listening to the table', async () => {
    hanging = await new FakeAlertmanager().start()
    hanging.hang = true
    const dead = `http://127.0.0.1:${await freePort()}`
    const view = new MeshView('a')
    view.hear('X', 'n-X')
    const timers = trackAlertTimers()
    try {
      const p = alerting({ table: view.table, log: pino({ level: 'silent' }) }, {
        urls: [hanging.url, dead], resendIntervalMs: 60_000, mesh: 'm', generatorURL: 'http://a/', fetchTimeoutMs: 60_000, retryInitialMs: 30_000
      })
      p.start()
      view.down('X')
      await waitFor('a request hanging and a retry scheduled', () => hanging.held > 0 && p.sends().error >= 1)
      // evaluate and resend intervals, the hanging request's timeout, the dead URL's retry
      expect(timers.pending()).toBe(4)
      const t0 = Date.now()
      await p.stop()
      expect(Date.now() - t0).toBeLessThan(1_000)
      expect(timers.pending()).toBe(0)
      expect(view.table.listenerCount('transition') + view.table.listenerCount('check')).toBe(0)
      expect(p.sends()).toEqual({ success: 0, error: 1, unauthorized: 0 }) // the aborted request is not counted as an error
      await waitFor('the held request closed by the client', () => hanging.held === 0, 2_000)
    } finally {
      timers.restore()
    }
  })

  it('a process that stops its pusher exits by itself (it had a request in flight and a retry pending)', async () => {
    hanging = await new FakeAlertmanager().start()
    hanging.hang = true
    const script = fileURLToPath(new URL('./fixtures/stop-then-exit.ts', import.meta.url))
    const viteNode = fileURLToPath(new URL('../../node_modules/vite-node/vite-node.mjs', import.meta.url))
    const child = spawn(process.execPath, [viteNode, script, hanging.url.split(':').pop() ?? '', String(await freePort())], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let stoppedAt = 0
    child.stdout.on('data', (d: Buffer) => { out += String(d); if (out.includes('stopped')) stoppedAt ||= Date.now() })
    const result = collect(child, 30_000)
    await waitFor('the child ready, its request held by the server', () => out.includes('ready') && hanging.held > 0, 20_000)
    child.kill('SIGUSR2')
    const { code, stdout, stderr } = await result
    expect(code, stderr).toBe(0)
    expect(stdout).toContain('stopped {"success":0,"error":1,"unauthorized":0}')
    // nothing was left to keep it alive: it ended right after stop(), not at a timeout or a resend
    expect(Date.now() - stoppedAt).toBeLessThan(2_000)
  })
})

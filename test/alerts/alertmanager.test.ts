/**
 * End to end with the real Alertmanager (Debian's prometheus-alertmanager):
 * several nodes push what they derive from their own peer tables; Alertmanager
 * must hold ONE alert per problem, with the labels, times and texts we sent.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { alerting, type Alerting } from '../../src/alerts/index.js'
import { lacks } from '../support/packages.js'
import { freePort } from '../support/ports.js'
import { Procs } from '../support/procs.js'
import { waitFor } from '../support/wait.js'
import { ALERTMANAGER, amAlerts, AMTOOL, failing, MeshView, startAlertmanager } from './helpers.js'

const silent = pino({ level: 'silent' })
const TARGET = '12D3KooWTargetPeer'

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER))('pushing to a real Alertmanager', () => {
  const procs = new Procs()
  const pushers: Alerting[] = []
  let dir: string
  let am: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-am-'))
    const port = await freePort()
    am = `http://127.0.0.1:${port}`
    await startAlertmanager(procs, dir, port)
  })
  afterEach(async () => {
    for (const p of pushers.splice(0)) await p.stop()
  })
  afterAll(async () => {
    await procs.stopAll()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  /** a node named `name` pushing what its view derives */
  const push = (view: MeshView, name: string, mesh: string): Alerting => {
    const p = alerting({ table: view.table, log: silent }, { urls: [am], resendIntervalMs: 5_000, mesh, generatorURL: `http://${name}:9521/api/v1/peers` })
    pushers.push(p)
    p.start()
    return p
  }

  it('three nodes seeing the same peer down make ONE MeshPeerDown, resolved once the peer is back', async () => {
    const views = ['a', 'b', 'c'].map(n => new MeshView(n))
    for (const v of views) v.hear(TARGET, 'gpu-01')
    const nodes = views.map((v, i) => push(v, `node-${i}`, 'three'))
    const since = views.map(v => v.down(TARGET).stateSince)
    // every node has pushed it, so Alertmanager had three senders to merge
    await waitFor('all three pushed', () => nodes.every(n => n.sends().success >= 1))
    await waitFor('MeshPeerDown in Alertmanager', async () => (await amAlerts(am, 'three')).length > 0)
    const alerts = await amAlerts(am, 'three')
    expect(alerts).toHaveLength(1)
    expect(alerts[0]?.labels).toEqual({ alertname: 'MeshPeerDown', peer: TARGET, node: 'gpu-01', severity: 'critical', mesh: 'three' })
    expect(alerts[0]?.status.state).toBe('active')
    expect(alerts[0]?.annotations.summary).toBe('gpu-01 is down')
    // Alertmanager keeps the earliest startsAt of the senders: when the first node saw it down
    expect(Date.parse(alerts[0]?.startsAt ?? '')).toBe(Math.min(...since))
    expect(alerts[0]?.generatorURL).toMatch(/^http:\/\/node-\d:9521\/api\/v1\/peers$/)
    // what GET /api/v1/alerts would show on each node
    for (const n of nodes) expect(n.alerts().map(a => a.labels.alertname)).toEqual(['MeshPeerDown'])

    for (const v of views) v.hear(TARGET, 'gpu-01')
    await waitFor('every node sent the resolution', () => nodes.every(n => n.sends().success >= 2))
    await waitFor('MeshPeerDown resolved in Alertmanager', async () => (await amAlerts(am, 'three')).length === 0)
    for (const n of nodes) {
      expect(n.alerts()).toEqual([])
      expect(n.sends().error).toBe(0)
    }
  })

  it('a failing check makes one MeshCheckFailed carrying its output, which amtool lists', async () => {
    const output = 'HTTP CRITICAL: HTTP/1.1 503 Service Unavailable - 12 bytes in 0.002 second response time'
    const views = ['a', 'b'].map(n => new MeshView(n))
    const t0 = Date.now() - 60_000
    for (const v of views) v.hear(TARGET, 'web-01', [failing('web', 2, output, t0)])
    views.forEach((v, i) => push(v, `node-${i}`, 'checks'))
    await waitFor('MeshCheckFailed in Alertmanager', async () => (await amAlerts(am, 'checks')).length > 0)
    const alerts = await amAlerts(am, 'checks')
    expect(alerts).toHaveLength(1)
    expect(alerts[0]?.labels).toEqual({ alertname: 'MeshCheckFailed', peer: TARGET, node: 'web-01', check: 'web', severity: 'critical', mesh: 'checks' })
    expect(alerts[0]?.annotations.description).toBe(output)
    expect(alerts[0]?.annotations.summary).toBe('check web on web-01 is CRITICAL')
    expect(Date.parse(alerts[0]?.startsAt ?? '')).toBe(t0)

    const { stdout } = await promisify(execFile)(AMTOOL, [`--alertmanager.url=${am}`, 'alert', 'query', 'mesh=checks', '-o', 'extended'], { timeout: 15_000 })
    expect(stdout).toContain('MeshCheckFailed')
    expect(stdout).toContain('check="web"')
    expect(stdout).toContain('node="web-01"')

    // WARNING -> CRITICAL is another alert (severity is a label): the critical one resolves, the warning one fires
    for (const v of views) v.hear(TARGET, 'web-01', [failing('web', 1, 'HTTP WARNING: slow')])
    await waitFor('only the warning left', async () => {
      const now = await amAlerts(am, 'checks')
      return now.length === 1 && now[0]?.labels.severity === 'warning' && now[0].annotations.description === 'HTTP WARNING: slow'
    })
  })

  it('a peer that is down does not also get MeshCheckFailed for its stale checks', async () => {
    const view = new MeshView('a')
    view.hear(TARGET, 'db-01', [failing('db', 2, 'connection refused')])
    const node = push(view, 'node-a', 'stale')
    await waitFor('MeshCheckFailed', async () => (await amAlerts(am, 'stale', 'MeshCheckFailed')).length === 1)
    view.down(TARGET)
    await waitFor('only MeshPeerDown', async () => (await amAlerts(am, 'stale')).map(a => a.labels.alertname).join() === 'MeshPeerDown')
    expect(node.alerts().map(a => a.labels.alertname)).toEqual(['MeshPeerDown'])
  })
})

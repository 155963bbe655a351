/**
 * Alertmanager down while the mesh fails, then up: the real Alertmanager gets
 * the alerts when it (re)starts, with the times the problems began, not the
 * delivery time. Going bad and coming back are each logged once.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { alerting, type Alerting } from '../../src/alerts/index.js'
import { lacks } from '../support/packages.js'
import { freePort } from '../support/ports.js'
import { Procs } from '../support/procs.js'
import { waitFor } from '../support/wait.js'
import { ALERTMANAGER, amAlerts, failing, MeshView, recordingLog, startAlertmanager } from './helpers.js'

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER))('Alertmanager unreachable, then back', () => {
  const procs = new Procs()
  let pusher: Alerting | undefined
  let dir: string | undefined

  afterAll(async () => {
    await pusher?.stop()
    await procs.stopAll()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('delivers alerts that began while it was down (not started yet, then killed) with their true startsAt', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-am-outage-'))
    const port = await freePort()
    const am = `http://127.0.0.1:${port}`
    const { log, lines } = recordingLog()
    const view = new MeshView('a')
    view.hear('12D3KooWGpu', 'gpu-01')
    view.hear('12D3KooWWeb', 'web-01')
    pusher = alerting({ table: view.table, log }, { urls: [am], resendIntervalMs: 2_000, retryInitialMs: 100, mesh: 'outage', generatorURL: 'http://a:9521/api/v1/peers' })
    pusher.start()

    // 1. nothing listens yet: the peer goes down, sends fail and are retried
    const downAt = view.down('12D3KooWGpu').stateSince
    await waitFor('three failed sends', () => pusher!.sends().error >= 3)
    expect(pusher.sends().success).toBe(0)
    let am1 = await startAlertmanager(procs, dir, port)
    await waitFor('MeshPeerDown delivered', async () => (await amAlerts(am, 'outage')).length === 1, 10_000)
    const [peerDown] = await amAlerts(am, 'outage')
    expect(peerDown?.labels).toMatchObject({ alertname: 'MeshPeerDown', node: 'gpu-01' })
    expect(Date.parse(peerDown?.startsAt ?? '')).toBe(downAt)

    // 2. killed while that alert is active; a check starts failing meanwhile
    await procs.stop(am1)
    const failedAt = Date.now() - 1_000
    view.hear('12D3KooWWeb', 'web-01', [failing('web', 2, 'HTTP CRITICAL: 502 Bad Gateway', failedAt)])
    const errorsBefore = pusher.sends().error
    await waitFor('sends failing again', () => pusher!.sends().error > errorsBefore)
    am1 = await startAlertmanager(procs, dir, port)
    // the restarted Alertmanager lost its alerts (it keeps none on disk): the pending check alert
    // arrives at the next retry, the still active MeshPeerDown at the next resend
    await waitFor('both alerts back', async () => (await amAlerts(am, 'outage')).length === 2, 10_000)
    const byName = Object.fromEntries((await amAlerts(am, 'outage')).map(a => [a.labels.alertname, a]))
    expect(Date.parse(byName.MeshPeerDown?.startsAt ?? '')).toBe(downAt)
    expect(Date.parse(byName.MeshCheckFailed?.startsAt ?? '')).toBe(failedAt)
    expect(byName.MeshCheckFailed?.annotations.description).toBe('HTTP CRITICAL: 502 Bad Gateway')

    // two outages: each logged once going bad and once coming back, not once per retry
    expect(pusher.sends().error).toBeGreaterThanOrEqual(4)
    expect(lines.filter(l => l.msg.startsWith('alertmanager unreachable'))).toHaveLength(2)
    expect(lines.filter(l => l.msg.startsWith('alertmanager reachable again'))).toHaveLength(2)
    expect(lines.find(l => l.msg.startsWith('alertmanager unreachable'))).toMatchObject({ level: 40, url: am })
  })
})

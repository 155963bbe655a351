/**
 * Alertmanager gone while the mesh fails, at scale: ten nodes, Alertmanager
 * stopped, then three nodes killed (kill -9) and two checks failing. Every
 * node keeps the alerts meanwhile; when Alertmanager returns, each of the
 * five is there once, with the time its condition began, not the time
 * Alertmanager came back. The outage lasts a minute (the real thing lasts
 * longer; the mechanism is the same, and CI time is not free).
 */
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { lacks } from '../support/packages.js'
import { holdsFor, waitFor } from '../support/wait.js'
import { ALERTMANAGER } from '../alerts/helpers.js'
import { LoopbackMesh } from './loopback-mesh.js'
import { markerCheck } from './mesh-under-test.js'

const OUTAGE_MS = 60_000
/** bounds of when a condition is found, for startsAt: detection and a check run, on a loaded host */
const FOUND_WITHIN_MS = 20_000
const DEAD = [8, 9, 10]
const FAILING = [2, 3]

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER))('Alertmanager down while 3 of 10 nodes die and 2 checks fail', () => {
  let m: LoopbackMesh
  const marker = (i: number): string => join(m.dir, `broken-${i}`)

  beforeAll(async () => {
    m = new LoopbackMesh(10, { mesh: 'outage', resendInterval: '5s', config: i => FAILING.includes(i) ? `checks:\n${markerCheck('svc', marker(i))}` : '' })
    await m.start()
  }, 240_000)
  afterAll(async () => { await m.stop() }, 60_000)

  it('delivers each alert once, with its true startsAt, when Alertmanager is back', async () => {
    const history = m.history!
    const live = m.nodes([1, 2, 3, 4, 5, 6, 7])
    onTestFailed(async () => { await m.report('am-outage') })
    await m.stopAlertmanager()
    const stoppedAt = Date.now()
    const killedAt = Date.now()
    for (const i of DEAD) m.node(i).child.kill('SIGKILL')
    const failedAt = Date.now()
    for (const i of FAILING) await writeFile(marker(i), '')
    const expected = (alerts: any[]): boolean => alerts.length === 5
    await Promise.all(live.map(async n => await waitFor(`${n.name} derives the 5 alerts`, async () => expected(await (await fetch(`${n.api}/api/v1/alerts`)).json() as any[]), 30_000, 250)))

    // the rest of the outage: every live node keeps holding them
    await holdsFor('every live node holds the 5 alerts', async () => {
      const all = await Promise.all(live.map(async n => await (await fetch(`${n.api}/api/v1/alerts`)).json() as any[]))
      return all.every(expected)
    }, Math.max(0, stoppedAt + OUTAGE_MS - Date.now()), 2_000)
    expect(history.incidents).toEqual([])

    await m.startAlertmanager()
    const backAt = Date.now()
    await waitFor('the 5 alerts in Alertmanager', async () => { await history.poll(); return history.active().length === 5 }, 30_000)
    // exactly once: no duplicate, no second firing, nothing else, for a while after
    await holdsFor('still the same 5 incidents', () => history.incidents.length === 5 && history.active().length === 5, 10_000)

    const downs = history.of('MeshPeerDown')
    expect(downs.map(i => i.labels.node).sort()).toEqual(DEAD.map(i => `n${i}`).sort())
    for (const d of downs) {
      expect(d.labels).toEqual({ alertname: 'MeshPeerDown', peer: m.node(Number(d.labels.node?.slice(1))).peerId, node: d.labels.node, severity: 'critical', mesh: 'outage' })
      const startsAt = Date.parse(d.startsAt)
      expect(startsAt).toBeGreaterThanOrEqual(killedAt)
      expect(startsAt).toBeLessThan(killedAt + FOUND_WITHIN_MS)
      expect(startsAt).toBeLessThan(backAt)
    }
    const checks = history.of('MeshCheckFailed')
    expect(checks.map(i => i.labels.node).sort()).toEqual(FAILING.map(i => `n${i}`))
    for (const c of checks) {
      expect(c.labels).toMatchObject({ check: 'svc', severity: 'critical', mesh: 'outage' })
      const startsAt = Date.parse(c.startsAt)
      // the check's own clock says when it turned: at the next run after the marker (1 s interval)
      expect(startsAt).toBeGreaterThanOrEqual(failedAt - 1_000)
      expect(startsAt).toBeLessThan(failedAt + FOUND_WITHIN_MS)
    }
  }, 300_000)
})

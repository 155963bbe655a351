/**
 * An isolated observer pages nobody about the others: six nodes in a network
 * lab, one node's mesh cable unplugged while Alertmanager stays reachable from
 * it. The five connected nodes page for it (one MeshPeerDown); it says that it
 * is cut off (metric, log line, its self entry, MeshNodeIsolated) and pages
 * for none of them. Plugged back in, everything is up and resolved.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { meshmon } from '../support/cli.js'
import { lacks } from '../support/packages.js'
import { lacksNetlab } from '../support/netlab.js'
import { holdsFor, outcome, waitFor } from '../support/wait.js'
import { ALERTMANAGER } from '../alerts/helpers.js'
import { LabMesh } from './lab-mesh.js'

// heartbeat.recoverAfter (5 s) plus downAfter (2) intervals of 1 s: how long an incident holds after the node is back
const RECOVER_HOLD_MS = 7_000

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER) || lacksNetlab())('an isolated observer (6 nodes, one cut off)', () => {
  const m = new LabMesh({ sides: [6] })

  beforeAll(async () => { await m.start() }, 180_000)
  afterAll(async () => { await m.stop() }, 60_000)

  it('the others page for it once; it says it is isolated and pages nobody; healed, all is up and resolved', async () => {
    const history = m.history!
    const cut = m.node(6)
    const others = m.nodes([1, 2, 3, 4, 5])
    onTestFailed(async () => { await m.report('isolated') })
    m.lab.cutHost(6)
    await m.waitView(others, { n6: 'down' }, 15_000)
    await waitFor('one MeshPeerDown in Alertmanager', () => history.active('MeshPeerDown').length > 0, 15_000)
    expect(history.of('MeshPeerDown').map(i => i.labels)).toEqual([{ alertname: 'MeshPeerDown', peer: cut.peerId, node: 'n6', severity: 'critical', mesh: m.mesh }])

    // the cut-off node knows it: metric, self entry, log line, and its own alert
    await waitFor('n6 reports itself isolated', async () => /^meshmon_isolated(\{[^}]*\})? 1$/m.test(await m.metrics(cut)), 15_000)
    const self = async (): Promise<any> => (await m.cluster.peers(cut)).find(p => p.self)
    expect((await self()).partition).toMatchObject({ isolated: true, minority: true, members: 6 })
    expect(cut.logs.some(l => /"level":40,.*cut off from the mesh/.test(l))).toBe(true)
    const status = await meshmon(['status', '--api', cut.api])
    expect(status.code).toBe(1)
    expect(status.stdout).toMatch(/cut off from the mesh/)
    await waitFor('MeshNodeIsolated in Alertmanager', () => history.active('MeshNodeIsolated').length === 1, 15_000)
    expect(history.of('MeshNodeIsolated').map(i => i.labels)).toEqual([{ alertname: 'MeshNodeIsolated', peer: cut.peerId, node: 'n6', severity: 'warning', mesh: m.mesh }])

    // long enough for a wrong alert to appear: none for the five, and n6 finds them suspect, never down
    await holdsFor('no MeshPeerDown but n6\'s, n6 sees nobody down', async () => {
      const view = await m.view(cut)
      return history.of('MeshPeerDown').every(i => i.labels.node === 'n6') && Object.values(view).every(s => s !== 'down')
    }, 20_000)
    // soft: the checks after the heal still run and report when this one fails
    expect.soft(await outcome(m.waitView([cut], Object.fromEntries(others.map(n => [n.name, 'suspect'])), 10_000)), 'n6 shows the others suspect').toBe('ok')
    // a peer with no news for 30 s (three record refreshes) no longer counts as reachable
    expect.soft(await outcome(waitFor('n6 to count only itself reachable', async () => (await self()).partition?.reachable === 1, 30_000)), 'n6 counts only itself reachable').toBe('ok')
    // alone, it is no side of a split: no MeshPartitioned
    expect(history.of('MeshPartitioned')).toEqual([])
    expect(await m.view(others[0]!)).toMatchObject({ n1: 'up', n2: 'up', n3: 'up', n4: 'up', n5: 'up', n6: 'down' })

    m.lab.healHost(6)
    const all = [...others, cut]
    const everyoneUp = Object.fromEntries(all.map(n => [n.name, 'up']))
    await m.waitView(all, everyoneUp, 10_000 + RECOVER_HOLD_MS)
    expect.soft(await outcome(waitFor('every alert resolved', async () => { await history.poll(); return history.active().length === 0 }, 10_000 + RECOVER_HOLD_MS))).toBe('ok')
    expect(/^meshmon_isolated(\{[^}]*\})? 0$/m.test(await m.metrics(cut))).toBe(true)
    // logged (synchronously) before the resolution is sent: missing, Alertmanager let the alert expire before meshmon resolved it
    expect(cut.logs.some(l => /"level":30,.*this node reaches the mesh again/.test(l))).toBe(true)
    // one incident each, never a second firing
    expect(history.of('MeshPeerDown')).toHaveLength(1)
    expect(history.of('MeshNodeIsolated')).toHaveLength(1)
    // one peer.down for n6, written once for the mesh, not once per observer
    await waitFor('n6\'s peer.down and peer.up on every node', async () => {
      for (const n of all) {
        const evs = (await m.events(n)).filter(e => e.subject.peer === cut.peerId && (e.type === 'peer.down' || e.type === 'peer.up'))
        if (evs.length !== 2) return false
      }
      return true
    }, 30_000)
  }, 240_000)
})

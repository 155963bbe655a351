/**
 * A flapping link: one node's cable goes out and back every 3 s for a minute.
 * With the defaults (an incident ends once the node is back for recoverAfter,
 * 5 s, plus the 2 s a new silence takes to be noticed) that is ONE incident: at most
 * one peer.down / peer.up pair of events for it, at most one MeshPeerDown
 * (firing through the flapping, resolved after), no alert storm, and the node
 * ends `up`. The state shown flips at once; only the incident is held.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { lacks } from '../support/packages.js'
import { lacksNetlab } from '../support/netlab.js'
import { waitFor } from '../support/wait.js'
import { ALERTMANAGER } from '../alerts/helpers.js'
import { LabMesh } from './lab-mesh.js'
import { sameEventIds } from './events.js'

// heartbeat.recoverAfter (5 s) plus downAfter (2) intervals of 1 s: how long an incident holds after the node is back
const RECOVER_HOLD_MS = 7_000
const FLAP_EVERY_MS = 3_000
const FLAP_FOR_MS = 60_000

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER) || lacksNetlab())('a flapping link', () => {
  const m = new LabMesh({ sides: [5] })

  beforeAll(async () => { await m.start() }, 180_000)
  afterAll(async () => { await m.stop() }, 60_000)

  it('one node\'s link down and up every 3 s for a minute: one incident at most, the node ends up', async () => {
    const history = m.history!
    const flapper = m.node(5)
    const others = m.nodes([1, 2, 3, 4])
    onTestFailed(async () => { await m.report('flapping') })
    // the flapping, driven by the clock: the fault is the timing
    const end = Date.now() + FLAP_FOR_MS
    let cut = false
    let shownDown = false
    while (Date.now() < end) {
      cut = !cut
      if (cut) m.lab.cutHost(5)
      else m.lab.healHost(5)
      const next = Date.now() + FLAP_EVERY_MS
      while (Date.now() < next) {
        shownDown ||= (await m.view(others[0]!)).n5 === 'down'
        await new Promise(resolve => setTimeout(resolve, 250))
      }
    }
    m.lab.healHost(5)
    // the flapping was seen (the state shown flips at once): otherwise this test proved nothing
    expect(shownDown).toBe(true)

    const all = [...others, flapper]
    await m.waitView(all, Object.fromEntries(all.map(n => [n.name, 'up'])), 10_000 + RECOVER_HOLD_MS)
    await waitFor('every alert resolved', async () => { await history.poll(); return history.active().length === 0 }, 10_000 + RECOVER_HOLD_MS)
    const downs = history.of('MeshPeerDown')
    expect(downs.length).toBeLessThanOrEqual(1)
    expect(downs.every(i => i.labels.node === 'n5')).toBe(true)
    // no storm of anything else either: the flapping node, cut off each time, may say so, once
    expect(history.incidents.filter(i => i.labels.alertname !== 'MeshPeerDown').map(i => i.labels.alertname)).toEqual(
      history.of('MeshNodeIsolated', { node: 'n5' }).length > 0 ? ['MeshNodeIsolated'] : [])

    // the event log: at most one down/up pair for n5 (both or neither), the same on every node, nothing about the others
    // a node that flapped for a minute redials its peers with backoff: its log catches up at the next connection
    await waitFor('the same events on every node', async () => await sameEventIds(all), 60_000, 500)
    const evs = await m.events(others[0]!)
    const about = (type: string): any[] => evs.filter(e => e.type === type && e.subject.peer === flapper.peerId)
    expect(about('peer.down').length).toBeLessThanOrEqual(1)
    expect(about('peer.up').length).toBe(about('peer.down').length)
    expect(evs.filter(e => (e.type === 'peer.down' || e.type === 'peer.up') && e.subject.peer !== flapper.peerId)).toEqual([])
  }, 240_000)
})

/**
 * A 4 / 2 partition: the trunk of the two-node side is cut. The four page for
 * the two (one MeshPeerDown each); the two find the four `suspect` and page
 * for nobody. A check changes state on each side meanwhile; after the heal
 * every node holds every event, and each incident once (one peer.down per
 * node of the small side, not one per observer).
 */
import { join } from 'node:path'
import { unlink, writeFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { lacks } from '../support/packages.js'
import { lacksNetlab } from '../support/netlab.js'
import { holdsFor, outcome, waitFor } from '../support/wait.js'
import { ALERTMANAGER } from '../alerts/helpers.js'
import { LabMesh, markerCheck } from './lab-mesh.js'
import { settledEventIds } from './events.js'

// heartbeat.recoverAfter (5 s) plus downAfter (2) intervals of 1 s: how long an incident holds after the node is back
const RECOVER_HOLD_MS = 7_000
const MAJORITY = [1, 2, 3, 4]
const MINORITY = [5, 6]

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER) || lacksNetlab())('a 4 / 2 partition', () => {
  let m: LabMesh
  const marker = (i: number): string => join(m.dir, `broken-${i}`)

  beforeAll(async () => {
    m = new LabMesh({ sides: [4, 2], config: i => (i === 2 || i === 6) ? `checks:\n${markerCheck('svc', marker(i))}` : '' })
    await m.start()
  }, 180_000)
  afterAll(async () => { await m.stop() }, 60_000)

  it('the large side pages for the small side\'s nodes, the small side for nobody; healed, every event is everywhere once', async () => {
    const history = m.history!
    const big = m.nodes(MAJORITY)
    const small = m.nodes(MINORITY)
    const all = [...big, ...small]
    onTestFailed(async () => { await m.report('partition-4-2') })
    m.lab.cutSide(1)
    await m.waitView(big, { n5: 'down', n6: 'down' }, 15_000)
    // soft: what follows still runs and reports when this one fails
    expect.soft(await outcome(m.waitView(small, { n1: 'suspect', n2: 'suspect', n3: 'suspect', n4: 'suspect' }, 15_000)), 'the small side shows the large side suspect').toBe('ok')
    await waitFor('MeshPeerDown for n5 and n6 in Alertmanager', () => history.active('MeshPeerDown').filter(i => i.labels.node === 'n5' || i.labels.node === 'n6').length === 2, 15_000)
    // soft, here and below: one run reports every miss, the heal included
    expect.soft(history.of('MeshPeerDown').map(i => i.labels.node).sort(), 'MeshPeerDown for the small side only').toEqual(['n5', 'n6'])
    expect(history.of('MeshPeerDown').filter(i => i.labels.node === 'n5' || i.labels.node === 'n6').map(i => i.labels.peer).sort()).toEqual(small.map(n => n.peerId).sort())
    // the small side (two nodes, not one alone) says the mesh is split: one alert from both
    await waitFor('MeshPartitioned in Alertmanager', () => history.active('MeshPartitioned').length === 1, 15_000)
    expect(history.of('MeshPartitioned').map(i => i.labels)).toEqual([{ alertname: 'MeshPartitioned', mesh: m.mesh, severity: 'critical' }])

    // a check goes bad on each side while they are apart
    await writeFile(marker(2), '')
    await writeFile(marker(6), '')
    await waitFor('n2\'s check failing as its side sees it', async () => (await m.events(big[0]!, { type: 'check.failed' })).length === 1, 15_000)
    await waitFor('n6\'s check failing as its side sees it', async () => (await m.events(small[0]!, { type: 'check.failed' })).length === 1, 15_000)
    await unlink(marker(2))
    await unlink(marker(6))

    // long enough for a wrong page: nothing for the four, and the two see nobody down
    expect.soft(await outcome(holdsFor('no MeshPeerDown for the large side, the small side sees nobody down', async () => {
      const views = await Promise.all(small.map(async n => await m.view(n)))
      return history.of('MeshPeerDown').every(i => i.labels.node === 'n5' || i.labels.node === 'n6') &&
        views.every(v => Object.values(v).every(s => s !== 'down'))
    }, 20_000))).toBe('ok')

    m.lab.healSide(1)
    await m.waitView(all, Object.fromEntries(all.map(n => [n.name, 'up'])), 10_000 + RECOVER_HOLD_MS)
    await waitFor('every alert resolved', async () => { await history.poll(); return history.active().length === 0 }, 10_000 + RECOVER_HOLD_MS)
    expect.soft(history.of('MeshPeerDown')).toHaveLength(2)

    // every event on every node within 30 s of the heal, then quiet
    const ids = await settledEventIds(all, 30_000 + 6_000)
    const events = await m.events(big[0]!)
    const about = (type: string, i: number): number => events.filter(e => e.type === type && e.subject.peer === m.node(i).peerId).length
    for (const i of MINORITY) {
      expect(about('peer.down', i)).toBe(1)
      expect(about('peer.up', i)).toBe(1)
    }
    for (const i of MAJORITY) expect(about('peer.down', i)).toBe(0)
    for (const i of [2, 6]) {
      expect(about('check.failed', i)).toBe(1)
      expect(about('check.recovered', i)).toBe(1)
    }
    expect(events.every(e => ids.has(e.id))).toBe(true)
  }, 240_000)
})

/**
 * A restart storm: ten nodes restarted one after another, the way a rolling
 * update does it (SIGTERM, wait for the exit, start again with the same data
 * dir, wait until every node sees it up, next). Each leaves and rejoins: no
 * MeshPeerDown at all, no peer.down, and every event log the same after.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { lacks } from '../support/packages.js'
import { ALERTMANAGER } from '../alerts/helpers.js'
import { LoopbackMesh } from './loopback-mesh.js'
import { settledEventIds } from './events.js'

const N = 10

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER))('a rolling restart of 10 nodes', () => {
  const m = new LoopbackMesh(N, { mesh: 'storm' })

  beforeAll(async () => { await m.start() }, 240_000)
  afterAll(async () => { await m.stop() }, 60_000)

  it('each node leaves and rejoins: no MeshPeerDown, no peer.down, the same event log everywhere', async () => {
    const history = m.history!
    onTestFailed(async () => { await m.report('restart-storm') })
    for (let i = 1; i <= N; i++) {
      const old = m.node(i)
      old.child.kill('SIGTERM')
      expect(await m.cluster.exited(old, 30_000)).toBe(0)
      const again = await m.startNode(i)
      expect(again.peerId).toBe(old.peerId)
      // up everywhere, and it sees everyone up, before the next one goes
      const everyone = Object.fromEntries(Array.from({ length: N }, (_, k) => [`n${k + 1}`, 'up']))
      await m.waitView(m.cluster.live(), everyone, 60_000)
    }
    const all = m.cluster.live()
    expect(all).toHaveLength(N)
    const ids = await settledEventIds(all, 90_000)
    await history.poll()
    expect(history.of('MeshPeerDown')).toEqual([])
    const events = await m.events(all[0]!)
    expect(events.filter(e => e.type === 'peer.down')).toEqual([])
    // each restart is a leave and a join, once each, in the one log
    for (let i = 1; i <= N; i++) {
      const about = (type: string): number => events.filter(e => e.type === type && e.subject.peer === m.node(i).peerId).length
      expect(about('peer.left')).toBe(1)
      expect(about('peer.joined')).toBeGreaterThanOrEqual(1)
    }
    expect(events.every(e => ids.has(e.id))).toBe(true)
  }, 600_000)
})

/** Peers that were not there when events were written get all of them. */
import { afterEach, describe, expect, it } from 'vitest'
import { Nodes, sample, waitForIds } from './helpers.js'

describe('catch-up', () => {
  let nodes: Nodes
  afterEach(async () => { await nodes.stopAll() })

  it('a fresh peer joining a mesh with 1k events gets every one of them', async () => {
    nodes = new Nodes()
    const a = await nodes.start('a')
    const written = await a.events.appendMany(Array.from({ length: 1000 }, (_, i) => sample(i, 'a')))
    expect(a.events.count()).toBe(1000)
    const fresh = await nodes.start('fresh')
    expect(fresh.events.count()).toBe(0)
    await nodes.connect(a, fresh)
    await waitForIds(fresh, written.map(e => e.id), 60_000)
    expect(fresh.events.count()).toBe(1000)
    const newest = await fresh.events.query({ limit: 5 })
    expect(newest.map(e => e.id)).toEqual((await a.events.query({ limit: 5 })).map(e => e.id))
  })

  it('a node that was offline catches up on restart, and keeps what it had', async () => {
    nodes = new Nodes()
    const a = await nodes.start('a')
    let b = await nodes.start('b')
    await nodes.connect(a, b)
    const before = await a.events.append(sample(1, 'before'))
    await waitForIds(b, [before.id])
    const { dataDir, privateKey } = b
    await b.stop()
    const missed = await a.events.appendMany(Array.from({ length: 50 }, (_, i) => sample(i, 'missed')))
    b = await nodes.start('b', {}, { dataDir, privateKey })
    // what it had is there at once, before any peer is reachable
    expect(await b.events.has(before.id)).toBe(true)
    expect(b.peerId).toBe(nodes.all[1]!.peerId)
    // and it can write alone: the heads it had received from a are stored locally (no 30 s bitswap wait)
    const t0 = Date.now()
    const own = await b.events.append(sample(2, 'offline'))
    expect(Date.now() - t0).toBeLessThan(5000)
    await nodes.connect(a, b)
    await waitForIds(b, missed.map(e => e.id))
    await waitForIds(a, [own.id])
    expect(b.events.count()).toBe(52)
  })
})

/** Every node of a mesh opens the same log with no config, and sees the others' events. */
import { afterEach, describe, expect, it } from 'vitest'
import { BLOCKS_PROTOCOL } from '../../src/events/orbit/block-exchange.js'
import { waitFor } from '../support/wait.js'
import { Nodes, sample, waitForIds } from './helpers.js'

describe('one event log per mesh', () => {
  let nodes: Nodes
  afterEach(async () => { await nodes.stopAll() })

  it('three nodes open the same log with no extra config and see each other\'s events', async () => {
    nodes = new Nodes()
    const a = await nodes.start('a')
    const b = await nodes.start('b')
    const c = await nodes.start('c')
    const now = Math.floor(Date.now() / a.events.periodMs)
    const [pa, pb, pc] = await Promise.all([a, b, c].map(async n => (await n.events.periods()).find(p => p.period === now)?.address))
    expect(pa).toMatch(/^\/orbitdb\/zdpu/)
    expect(pb).toBe(pa)
    expect(pc).toBe(pa)
    await nodes.connect(a, b, c)
    const ea = await a.events.append(sample(1, 'a'))
    const eb = await b.events.append(sample(2, 'b'))
    const ec = await c.events.append(sample(3, 'c'))
    for (const n of [a, b, c]) await waitForIds(n, [ea.id, eb.id, ec.id])
    const seen = await b.events.query({ limit: 10 })
    expect(seen.map(e => e.id).sort()).toEqual([ea.id, eb.id, ec.id].sort())
    expect(seen.find(e => e.id === ea.id)).toEqual(ea)
    expect(a.events.count()).toBe(3)
  })

  it('a head that arrives whole is stored as it came, not fetched again from a peer', async () => {
    nodes = new Nodes()
    const a = await nodes.start('a', { indexSync: false })
    const b = await nodes.start('b', { indexSync: false })
    await nodes.connect(a, b)
    const now = Math.floor(Date.now() / a.events.periodMs)
    const entries = async (n: typeof a): Promise<string[]> => (await n.events.periods()).find(p => p.period === now)?.entries ?? []
    // the first entry: b fetches a's identity (and whatever else it lacks) over the block exchange as usual
    const first = await a.events.append(sample(1, 'a'))
    await waitForIds(b, [first.id])
    // then a stops answering block requests: b can still take a's next entry, because the head carries it
    await a.libp2p.unhandle(BLOCKS_PROTOCOL)
    const before = await entries(a)
    const second = await a.events.append(sample(2, 'a'))
    const added = (await entries(a)).filter(h => !before.includes(h))
    expect(added).toHaveLength(1)
    // (a fetch would wait out its 30 s timeout and the entry would not be taken)
    await waitFor('b to hold the second entry', async () => (await entries(b)).includes(added[0] as string), 10_000, 100)
    expect((await entries(b)).sort()).toEqual((await entries(a)).sort())
    expect(await b.events.has(second.id)).toBe(true)
  })

  it('another swarm key is another log', async () => {
    nodes = new Nodes()
    const a = await nodes.start('a')
    const other = new Nodes()
    try {
      const x = await other.start('x')
      const now = Math.floor(Date.now() / a.events.periodMs)
      const address = async (n: typeof a): Promise<string | undefined> => (await n.events.periods()).find(p => p.period === now)?.address
      expect(await address(a)).toMatch(/^\/orbitdb\//)
      expect(await address(x)).not.toBe(await address(a))
    } finally { await other.stopAll() }
  })
})

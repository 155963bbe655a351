/** Every node of a mesh opens the same log with no config, and sees the others' events. */
import { afterEach, describe, expect, it } from 'vitest'
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

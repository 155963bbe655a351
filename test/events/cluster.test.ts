/**
 * The event log in real `meshmon run` processes: one event per incident seen
 * through the API and `meshmon events`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshmon } from '../support/cli.js'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'


const eventsOf = async (n: NodeProc, qs: string): Promise<any[]> => await (await fetch(`${n.api}/api/v1/events?${qs}`)).json() as any[]

describe('events in a three-node mesh of real processes', () => {
  const cluster = new Cluster()
  let a: NodeProc, b: NodeProc, c: NodeProc

  beforeAll(async () => {
    await cluster.init()
    ;[a, b, c] = await cluster.startAll(['a', 'b', 'c']) as [NodeProc, NodeProc, NodeProc]
  })
  afterAll(async () => { await cluster.stopAll() })

  it('kill -9 of c then a restart: a and b each show exactly one peer.down and one peer.up for c', async () => {
    c.child.kill('SIGKILL')
    for (const n of [a, b]) {
      await waitFor(`${n.name} records c down`, async () => (await eventsOf(n, `type=peer.down&peer=${c.peerId}`)).length === 1, 20_000)
    }
    c = await cluster.start('c', [], { dataDir: c.dataDir })
    for (const n of [a, b, c]) {
      await waitFor(`${n.name} records c up`, async () => (await eventsOf(n, `type=peer.up&peer=${c.peerId}`)).length === 1, 20_000)
    }
    for (const n of [a, b]) {
      expect(await eventsOf(n, 'type=peer.down&peer=c')).toHaveLength(1)
      expect(await eventsOf(n, 'type=peer.up&peer=c')).toHaveLength(1)
    }
    const r = await meshmon(['events', '--api', b.api, '--peer', 'c', '--type', 'peer.down,peer.up'])
    expect(r.code, r.stderr).toBe(0)
    const rows = r.stdout.trim().split('\n')
    expect(rows[0]).toMatch(/^TIME\s+TYPE\s+SEVERITY\s+NODE\s+CHECK\s+MESSAGE$/)
    expect(rows.slice(1).map(l => l.split(/\s{2,}/).slice(1, 4))).toEqual([['peer.down', 'critical', 'c'], ['peer.up', 'info', 'c']])
  })

  it('SIGTERM: the node leaves, and the others record one peer.left, no peer.down', async () => {
    b.child.kill('SIGTERM')
    expect(await cluster.exited(b)).toBe(0)
    for (const n of [a, c]) await waitFor(`${n.name} records b left`, async () => (await eventsOf(n, `type=peer.left&peer=${b.peerId}`)).length === 1, 15_000)
    expect(await eventsOf(a, `type=peer.down&peer=${b.peerId}`)).toEqual([])
  })

  it('meshmon events exits 2 when the API cannot be reached, 2 on a bad filter', async () => {
    expect((await meshmon(['events', '--api', 'http://127.0.0.1:9'])).code).toBe(2)
    const bad = await meshmon(['events', '--api', a.api, '--since', 'yesterday'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/since must be a duration/)
  })
})

/**
 * A damaged data dir, with real `meshmon run` processes: a damaged event
 * index no longer crash-loops the node (it is moved aside and refilled from
 * peers); a damaged peer store stops `run` with what to do, and a data dir in
 * use by another node says so instead.
 */
import { existsSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshmon } from '../support/cli.js'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { freePort } from '../support/ports.js'
import { waitFor } from '../support/wait.js'

async function tearManifest (store: string): Promise<void> {
  const manifests = (await readdir(store)).filter(f => f.startsWith('MANIFEST-'))
  expect(manifests.length).toBeGreaterThan(0)
  for (const f of manifests) await writeFile(join(store, f), 'torn: not a LevelDB manifest')
}

async function events (node: NodeProc): Promise<Array<{ id: string, type: string }>> {
  return await (await fetch(`${node.api}/api/v1/events?limit=1000`)).json() as Array<{ id: string, type: string }>
}

async function stopGracefully (cluster: Cluster, node: NodeProc): Promise<void> {
  node.child.kill('SIGTERM')
  expect(await cluster.exited(node)).toBe(0)
}

describe('a damaged data dir', () => {
  const cluster = new Cluster()
  let a: NodeProc
  let b: NodeProc
  beforeAll(async () => {
    await cluster.init()
    a = await cluster.start('a')
    b = await cluster.start('b')
    await cluster.waitAll(2)
  })
  afterAll(async () => { await cluster.stopAll() })

  it('the event index: moved aside to events.corrupt-<time>, logged, refilled from peers; the node runs', async () => {
    // b's join is in the history on both nodes
    const before = await waitFor('b has events', async () => { const e = await events(b); return e.length > 0 ? e : undefined }, 30_000)
    await stopGracefully(cluster, b)
    await waitFor('a records b left', async () => (await events(a)).some(e => e.type === 'peer.left'), 20_000)
    await tearManifest(join(b.dataDir, 'events'))

    const again = await cluster.start('b', [], { dataDir: b.dataDir, ports: { p2p: b.p2pPort, api: b.apiPort } })
    const moved = again.logs.filter(l => l.includes('event index was damaged'))
    expect(moved, again.logs.join('\n')).toHaveLength(1)
    expect(JSON.parse(moved[0] as string)).toMatchObject({ level: 50, movedTo: expect.stringMatching(/events\.corrupt-/) })
    expect((await readdir(b.dataDir)).filter(f => /^events\.corrupt-/.test(f))).toHaveLength(1)
    // what it held comes back from the peer
    await waitFor('the old events back on b', async () => {
      const ids = new Set((await events(again)).map(e => e.id))
      return before.every(e => ids.has(e.id))
    }, 60_000)
    expect(again.child.exitCode).toBeNull()
  })

  it('the peer store: a data dir in use says so; a damaged one stops run with exit 2 and what to do', async () => {
    const live = cluster.live().find(n => n.name === 'a') as NodeProc
    const args = (dataDir: string) => ['run', '--swarm-key', cluster.swarmKey, '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0']
    const inUse = await meshmon([...args(live.dataDir), '--api-listen', `127.0.0.1:${await freePort()}`])
    expect(inUse.code).toBe(2)
    expect(inUse.stderr.trim().split('\n')).toHaveLength(1)
    expect(inUse.stderr).toMatch(/^meshmon: config error: dataDir: .*datastore is locked by another process .*: is another meshmon using this data dir\?/)

    await stopGracefully(cluster, live)
    const store = join(live.dataDir, 'datastore')
    await tearManifest(store)
    const damaged = await meshmon([...args(live.dataDir), '--api-listen', `127.0.0.1:${await freePort()}`])
    expect(damaged.code).toBe(2)
    expect(damaged.stderr.trim().split('\n')).toHaveLength(1)
    expect(damaged.stderr).toMatch(/^meshmon: config error: dataDir: .*datastore is damaged \(Corruption: .*\); move it aside \(mv .*datastore .*\) and start again: the node re-learns its peers from bootstrap/)
    expect(damaged.stderr).not.toMatch(/another meshmon/)
    expect(existsSync(store)).toBe(true) // never moved by itself: it is the operator's call
  })
})

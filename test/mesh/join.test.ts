/** Who may join and how peers find each other again. */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { generateSwarmKey } from '../../src/mesh/swarm-key.js'
import { Cluster } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'

describe('joining the mesh', () => {
  let cluster: Cluster
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') cluster.dumpLogs()
    await cluster.stopAll()
  })

  it('an intermittent node that goes silent is shown as left, never down', async () => {
    cluster = await new Cluster().init()
    const a = await cluster.start('a')
    const lap = await cluster.start('laptop', ['--expect', 'intermittent'])
    await cluster.waitAll(2)
    const states = new Set<string>()
    process.kill(lap.child.pid as number, 'SIGSTOP')
    try {
      await waitFor('laptop left', async () => {
        const s = await cluster.stateOf(a, lap) ?? 'missing'
        states.add(s)
        return s === 'left'
      }, 10_000)
      const peer = (await cluster.peers(a)).find(p => p.name === 'laptop')
      expect(peer).toMatchObject({ expect: 'intermittent', state: 'left' })
    } finally {
      process.kill(lap.child.pid as number, 'SIGCONT')
    }
    expect(states.has('down')).toBe(false)
    await waitFor('laptop up again', async () => await cluster.stateOf(a, lap) === 'up', 10_000)
  })

  it('a node with another swarm key never appears, and says the handshake failed', async () => {
    cluster = await new Cluster().init()
    const a = await cluster.start('a')
    const b = await cluster.start('b')
    const otherKey = join(cluster.dir, 'other.key')
    await writeFile(otherKey, generateSwarmKey())
    const stranger = await cluster.start('stranger', [], { swarmKey: otherKey, bootstrap: [a.addr] })
    await waitFor('the stranger to log why it cannot join', () => stranger.logs.some(l => /handshake failed.*different swarm key|different swarm key/.test(l)), 20_000)
    await cluster.waitAll(2, 'up', [a, b])
    for (const n of [a, b]) expect((await cluster.peers(n)).map(p => p.name).sort()).toEqual(['a', 'b'])
    expect((await cluster.peers(stranger)).map(p => p.name)).toEqual(['stranger'])
  })

  it('an unreachable bootstrap peer is logged as unreachable, not as a key problem', async () => {
    cluster = await new Cluster().init()
    const lonely = await cluster.start('lonely', [], { bootstrap: ['/ip4/127.0.0.1/tcp/1'] })
    await waitFor('unreachable in the log', () => lonely.logs.some(l => /unreachable \(ECONNREFUSED\)/.test(l)), 10_000)
    expect(lonely.logs.some(l => /swarm key/.test(l))).toBe(false)
  })

  it('a restarted node keeps its id and rejoins through peers it met, even when its bootstrap peer is gone', async () => {
    cluster = await new Cluster().init()
    const a = await cluster.start('a')
    const b = await cluster.start('b')
    let c = await cluster.start('c', [], { bootstrap: [a.addr] })
    await cluster.waitAll(3)
    // c has met b: connected to it directly, not only through a
    await waitFor('c connected to a and b', async () => /^meshmon_connected_peers\{[^}]*\} 2$/m.test(await (await fetch(`${c.api}/metrics`)).text()))
    const id = c.peerId
    c.child.kill('SIGTERM')
    await cluster.exited(c)
    a.child.kill('SIGKILL')
    await cluster.exited(a)
    // c's only bootstrap entry is a, which is gone: it must find b from its remembered peers
    c = await cluster.start('c', [], { bootstrap: [a.addr], dataDir: c.dataDir })
    expect(c.peerId).toBe(id)
    await waitFor('b and c see each other up', async () =>
      await cluster.stateOf(b, c) === 'up' && await cluster.stateOf(c, b) === 'up', 20_000)
  })
})

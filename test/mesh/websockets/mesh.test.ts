/**
 * Real `meshmon run` processes that listen and bootstrap on /ws only form the
 * mesh like TCP nodes do: every dial succeeds the first time, status shows
 * them up, events replicate, kill -9 is seen, a stranger's key is refused
 * with the usual line; and TCP-only, WebSockets-only and dual nodes are one mesh.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createMeshLibp2p } from '../../../src/mesh/libp2p.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../../src/mesh/swarm-key.js'
import { meshmon } from '../../support/cli.js'
import { Cluster, logLines, type NodeProc } from '../../support/cluster.js'
import { waitFor } from '../../support/wait.js'

/** the keeper logs every dial it starts, and every one that fails, at debug */
const DEBUG = { env: { MESHMON_LOG_LEVEL: 'debug' } }
const eventsOf = async (n: NodeProc, qs: string): Promise<any[]> => await (await fetch(`${n.api}/api/v1/events?${qs}`)).json() as any[]

describe('three nodes on WebSockets only', () => {
  const cluster = new Cluster()
  let a: NodeProc, b: NodeProc, c: NodeProc

  beforeAll(async () => {
    await cluster.init()
    a = await cluster.start('a', [], { listen: 'ws', ...DEBUG })
    // bootstrapped from a's /ws address
    b = await cluster.start('b', [], { listen: 'ws', ...DEBUG })
    c = await cluster.start('c', [], { listen: 'ws', ...DEBUG })
    await cluster.waitAll(3)
  })
  afterEach((ctx) => { if (ctx.task.result?.state === 'fail') cluster.dumpLogs() })
  afterAll(async () => { await cluster.stopAll() })

  it('every dial succeeds the first time, and meshmon status shows all three up', async () => {
    const dials = [a, b, c].flatMap(n => logLines(n).filter(l => l.msg === 'dialing'))
    const failed = [a, b, c].flatMap(n => logLines(n).filter(l => l.msg === 'dial failed'))
    expect(a.addr).toMatch(/\/ws$/)
    expect(dials.length).toBeGreaterThanOrEqual(2)
    for (const d of dials) expect(d.addr).toMatch(/\/ws(\/p2p\/\w+)?$/)
    expect(failed).toEqual([])
    const r = await meshmon(['status', '--api', c.api])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim().split('\n').at(-1)).toBe('3 peers: 3 up, 0 down, 0 failing checks')
  })

  it('100 dials over /ws from another process all complete', async () => {
    const swarmKey = normaliseSwarmKey(await readFile(cluster.swarmKey, 'utf8'))
    const dialer = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: [] })
    try {
      let completed = 0
      for (let i = 0; i < 100; i++) {
        const conn = await dialer.dial(multiaddr(`${a.addr}/p2p/${a.peerId as string}`), { force: true, signal: AbortSignal.timeout(5000) })
        expect(conn.remotePeer.toString()).toBe(a.peerId)
        await conn.close()
        completed++
      }
      expect(completed).toBe(100)
    } finally {
      await dialer.stop()
    }
  })

  it('events replicate: meshmon events on every node shows b and c joined', async () => {
    for (const n of [a, b, c]) {
      await waitFor(`${n.name} holds both joins`, async () => (await eventsOf(n, 'type=peer.joined')).length === 2, 20_000)
      const r = await meshmon(['events', '--api', n.api, '--type', 'peer.joined'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.trim().split('\n').slice(1).map(l => l.split(/\s{2,}/)[3]).sort()).toEqual(['b', 'c'])
    }
  })

  it('a node with another swarm key is refused over /ws with the same line as over TCP', async () => {
    const otherKey = join(cluster.dir, 'other.key')
    await writeFile(otherKey, generateSwarmKey())
    const stranger = await cluster.start('stranger', [], { listen: 'ws', swarmKey: otherKey, bootstrap: [a.addr] })
    const line = await waitFor('the stranger to log why it cannot join', () => stranger.logs.find(l => /different swarm key/.test(l)), 20_000)
    expect(JSON.parse(line).msg).toMatch(new RegExp(`^(reached ${a.addr} but the private-network handshake failed|dial to ${a.addr} timed out) .*different swarm key`))
    for (const n of [a, b]) expect((await cluster.peers(n)).map(p => p.name).sort()).toEqual(['a', 'b', 'c'])
    stranger.child.kill('SIGKILL')
    await cluster.exited(stranger)
  })

  it('kill -9 of c: a and b mark it down, status exits 1, and the down event replicates', async () => {
    c.child.kill('SIGKILL')
    for (const n of [a, b]) await waitFor(`${n.name} sees c down`, async () => await cluster.stateOf(n, c) === 'down', 10_000)
    const r = await meshmon(['status', '--api', a.api])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^c\s+\S+\s+down\s/m)
    for (const n of [a, b]) await waitFor(`${n.name} records c down`, async () => (await eventsOf(n, `type=peer.down&peer=${c.peerId as string}`)).length === 1, 20_000)
  })
})

describe('a mixed mesh: TCP only, WebSockets only, and both', () => {
  const cluster = new Cluster()
  afterEach((ctx) => { if (ctx.task.result?.state === 'fail') cluster.dumpLogs() })
  afterAll(async () => { await cluster.stopAll() })

  it('is one mesh: every node sees every node up', async () => {
    await cluster.init()
    const tcp = await cluster.start('tcp', [], { listen: 'tcp' })
    const both = await cluster.start('both', [], { listen: 'both' })
    // a WebSockets-only node joins through the dual node's /ws address...
    const ws = await cluster.start('ws', [], { listen: 'ws', bootstrap: [both.wsAddr as string] })
    // ...and a TCP-only node through the WebSockets-only one
    await cluster.start('tcp2', [], { listen: 'tcp', bootstrap: [ws.addr] })
    await cluster.waitAll(4)
    for (const n of cluster.nodes) {
      expect((await cluster.peers(n)).map(p => `${p.name as string} ${p.state as string}`).sort()).toEqual(['both up', 'tcp up', 'tcp2 up', 'ws up'])
    }
    expect(tcp.addr).not.toMatch(/\/ws/)
  })
})

/**
 * Relays skip the peers a heartbeat's sender reached itself
 * (src/mesh/relay-filter.ts, wire.ts `relay`). Real libp2p nodes on
 * loopback with the real heartbeat service and peer table. Copies are
 * counted as they come off the wire, before any duplicate check, with a spy
 * that calls through.
 */
import type { GossipSub } from '@chainsafe/libp2p-gossipsub'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { pino } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { HeartbeatService } from '../../src/heartbeat/service.js'
import { TOPIC } from '../../src/heartbeat/wire.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { skipRedundantRelays, type RelayStats } from '../../src/mesh/relay-filter.js'
import { generateSwarmKey, normaliseSwarmKey } from '../../src/mesh/swarm-key.js'
import { freePort } from '../support/ports.js'
import { waitFor } from '../support/wait.js'

const INTERVAL = 200

interface Member { name: string, libp2p: MeshLibp2p, table: PeerTable, heartbeat: HeartbeatService, relays?: RelayStats, copies: number }

describe('relaying heartbeats', () => {
  let members: Member[] = []
  afterEach(async () => {
    vi.restoreAllMocks()
    for (const m of members) m.heartbeat.stop()
    await Promise.all(members.map(async m => { await m.libp2p.stop() }))
    members = []
  })

  async function mesh (names: string[], filter: boolean): Promise<Member[]> {
    const swarmKey = normaliseSwarmKey(generateSwarmKey())
    for (const name of names) {
      const libp2p = await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), swarmKey, listen: [`/ip4/127.0.0.1/tcp/${await freePort()}`] })
      const table = new PeerTable()
      const heartbeat = new HeartbeatService({
        pubsub: libp2p.services.pubsub, peerId: libp2p.peerId.toString(), table, log: pino({ level: 'silent' }), machine: () => null, checks: () => [], addrs: () => []
      }, { name, expect: 'always-on', labels: {}, agent: 'meshmon/test', intervalMs: INTERVAL, digestWindowMs: INTERVAL * 10, boot: Date.now() })
      const m: Member = { name, libp2p, table, heartbeat, copies: 0 }
      if (filter) m.relays = skipRedundantRelays(libp2p.services.pubsub, TOPIC, (data, peer) => heartbeat.hadFromSender(data, peer))
      // every copy as it arrives, before gossipsub's duplicate check
      const ps = libp2p.services.pubsub as unknown as { handleReceivedMessage: (...args: unknown[]) => Promise<void> }
      const original = ps.handleReceivedMessage.bind(ps)
      vi.spyOn(ps, 'handleReceivedMessage').mockImplementation(async (...args: unknown[]) => { m.copies++; await original(...args) })
      members.push(m)
    }
    return members
  }

  const seqOf = (at: Member, of: Member): number => at.table.get(of.libp2p.peerId.toString())?.seq ?? 0
  const meshed = (ms: Member[], degree: number): boolean => ms.every(m => (m.libp2p.services.pubsub as unknown as GossipSub).getMeshPeers(TOPIC).length === degree)

  /** copies received per beat delivered, over `beats` beats of each sender once every table knows every peer */
  async function copiesPerDelivery (ms: Member[], beats: number): Promise<number> {
    await waitFor('every node to know every other', () => ms.every(m => ms.every(o => m === o || m.table.get(o.libp2p.peerId.toString())?.state === 'up')), 15_000)
    const copies0 = ms.reduce((a, m) => a + m.copies, 0)
    const seq0 = ms.map(m => ms.map(o => seqOf(m, o)))
    const [first] = ms as [Member]
    const target = seqOf(first, first) + beats
    await waitFor(`${beats} more beats of every sender at every node`, () => ms.every(m => ms.every(o => m === o || seqOf(m, o) >= target)), 30_000)
    const delivered = ms.reduce((a, m, i) => a + ms.reduce((b, o, j) => b + (m === o ? 0 : seqOf(m, o) - (seq0[i]?.[j] ?? 0)), 0), 0)
    return (ms.reduce((a, m) => a + m.copies, 0) - copies0) / delivered
  }

  it('with a connection between every two nodes, a relay forwards no copies', async () => {
    const run = async (filter: boolean): Promise<number> => {
      const ms = await mesh(['a', 'b', 'c'], filter)
      const [a, b, c] = ms as [Member, Member, Member]
      await a.libp2p.dial(b.libp2p.getMultiaddrs())
      await a.libp2p.dial(c.libp2p.getMultiaddrs())
      await b.libp2p.dial(c.libp2p.getMultiaddrs())
      for (const m of ms) m.heartbeat.start()
      await waitFor('each node meshed with both others', () => meshed(ms, 2), 15_000)
      const perDelivery = await copiesPerDelivery(ms, 15)
      for (const m of ms) m.heartbeat.stop()
      await Promise.all(ms.map(async m => { await m.libp2p.stop() }))
      return perDelivery
    }
    const without = await run(false)
    members = []
    const withFilter = await run(true)
    // gossipsub alone: each beat arrives from its sender and again from the third node
    expect(without).toBeGreaterThanOrEqual(1.7)
    expect(withFilter).toBeLessThanOrEqual(1.15)
    expect(members.every(m => (m.relays?.skipped ?? 0) > 0)).toBe(true)
  }, 90_000)

  it('a node with no connection to the sender still gets every beat through a relay', async () => {
    const ms = await mesh(['a', 'b', 'c'], true)
    const [a, b, c] = ms as [Member, Member, Member]
    // a line: a - b - c, and a never connects to c
    await b.libp2p.dial(a.libp2p.getMultiaddrs())
    await b.libp2p.dial(c.libp2p.getMultiaddrs())
    for (const m of ms) m.heartbeat.start()
    await waitFor('b meshed with a and c', () => meshed([b], 2) && meshed([a, c], 1), 15_000)
    await waitFor('a and c up at each other', () => a.table.get(c.libp2p.peerId.toString())?.state === 'up' && c.table.get(a.libp2p.peerId.toString())?.state === 'up', 15_000)
    // from here on, every beat of a reaches c (and of c reaches a), each exactly once
    const from = seqOf(c, a)
    const copies = c.copies
    await waitFor('20 more beats of a at c', () => seqOf(c, a) >= from + 20, 30_000)
    expect(a.libp2p.getPeers().map(String)).not.toContain(c.libp2p.peerId.toString())
    expect(c.table.get(a.libp2p.peerId.toString())?.state).toBe('up')
    expect(b.relays?.forwards).toBeGreaterThanOrEqual(40)
    // c hears from b (its own beats) and a (relayed): about two copies per interval, none repeated
    expect(c.copies - copies).toBeLessThanOrEqual(2 * (seqOf(c, a) - from) + 4)
  }, 60_000)

  it('sends no IDONTWANT: a received message costs no control message to each mesh peer', async () => {
    const ms = await mesh(['a', 'b', 'c'], true)
    const [a, b, c] = ms as [Member, Member, Member]
    await a.libp2p.dial(b.libp2p.getMultiaddrs())
    await a.libp2p.dial(c.libp2p.getMultiaddrs())
    await b.libp2p.dial(c.libp2p.getMultiaddrs())
    const topic = 'idontwant-test'
    let idontwants = 0
    let received = 0
    for (const m of ms) {
      m.libp2p.services.pubsub.subscribe(topic)
      m.libp2p.services.pubsub.addEventListener('message', e => { if (e.detail.topic === topic) received++ })
      const ps = m.libp2p.services.pubsub as unknown as { handleIdontwant: (...args: unknown[]) => void }
      const original = ps.handleIdontwant.bind(ps)
      vi.spyOn(ps, 'handleIdontwant').mockImplementation((...args: unknown[]) => { idontwants++; original(...args) })
    }
    await waitFor('a full topic mesh', () => ms.every(m => (m.libp2p.services.pubsub as unknown as GossipSub).getMeshPeers(topic).length === 2), 15_000)
    // 2 KiB each: gossipsub 1.2 sends IDONTWANT for anything of 512 bytes or more by default
    for (let i = 0; i < 10; i++) await a.libp2p.services.pubsub.publish(topic, new Uint8Array(2048).fill(i))
    await waitFor('every message at b and c', () => received === 20, 15_000)
    // b and c each relay every message to the other: that copy arriving means any IDONTWANT sent before it has too
    await waitFor('the relayed copies', () => b.copies >= 20 && c.copies >= 20, 15_000)
    expect(idontwants).toBe(0)
  }, 60_000)
})

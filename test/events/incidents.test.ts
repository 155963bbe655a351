/**
 * One entry per incident, not one per observer: three in-process nodes with
 * the real membership (beats, gossip, verdicts) on their libp2p nodes; one is
 * killed (no goodbye) and comes back.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { Membership } from '../../src/heartbeat/membership.js'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import type { MeshEvent } from '../../src/events/index.js'
import { record } from '../support/record.js'
import { waitFor } from '../support/wait.js'
import { Nodes, silent, type TestNode } from './helpers.js'

const INTERVAL = 300

interface Member { node: TestNode, membership: Membership, kill: () => Promise<void> }

async function member (nodes: Nodes, name: string, opts: { dataDir?: string, privateKey?: PrivateKey, record?: boolean } = {}): Promise<Member> {
  const table = new PeerTable()
  const node = await nodes.start(name, { fallbackMs: 1000, record: opts.record }, { ...opts, table })
  const membership = new Membership({
    libp2p: node.libp2p, privateKey: node.privateKey, table, log: silent, machine: () => null, checks: () => [], addrs: () => node.libp2p.getMultiaddrs().map(String)
  }, { name, expect: 'always-on', labels: { role: 'test' }, agent: 'meshmon/test', intervalMs: INTERVAL, suspectAfter: 2, downAfter: 4, boot: Date.now() })
  await membership.start()
  // kill: no goodbye, connections dropped; the data dir stays
  const kill = async (): Promise<void> => { await membership.stop(); await node.stop() }
  nodes.all.splice(nodes.all.indexOf(node), 1, { ...node, stop: kill })
  return { node, membership, kill }
}

const about = (events: MeshEvent[], type: string, peer: string): MeshEvent[] => events.filter(e => e.type === type && e.subject.peer === peer)

/** The condition holds at every look for `ms` (duplicates would show up within the fallback delay). */
async function holdsFor (what: string, fn: () => Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (!(await fn())) throw new Error(`no longer true: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

describe('one event per incident', () => {
  let nodes: Nodes
  afterEach(async () => { await nodes.stopAll() })

  it('3 nodes, one killed and restarted: both survivors show exactly one peer.down and one peer.up', async () => {
    nodes = new Nodes()
    const a = await member(nodes, 'a')
    const b = await member(nodes, 'b')
    let c = await member(nodes, 'c')
    await nodes.connect(a.node, b.node, c.node)
    const all = [a, b, c]
    // up, and known in full (labels ride in every record)
    await waitFor('everyone up everywhere', () => all.every(m => all.every(o => m.node.table.get(o.node.peerId)?.state === 'up' && m.node.table.get(o.node.peerId)?.labels.role === 'test')), 15_000)
    const cId = c.node.peerId
    // c's watchers hear its beats (a node that dies before any watcher heard it is forgotten, not down)
    await waitFor('a and b hear c', () => [a, b].every(m => m.membership.member.observer.get(cId)?.[0] === 0), 15_000)
    const { dataDir, privateKey } = c.node

    await c.kill()
    for (const s of [a, b]) await waitFor(`${s.node.name} records c down`, async () => about(await s.node.events.query({ peer: cId }), 'peer.down', cId).length === 1, 15_000)
    c = await member(nodes, 'c', { dataDir, privateKey })
    expect(c.node.peerId).toBe(cId)
    await nodes.connect(a.node, b.node, c.node)
    for (const s of [a, b]) await waitFor(`${s.node.name} records c up`, async () => about(await s.node.events.query({ peer: cId }), 'peer.up', cId).length === 1, 15_000)

    const exactlyOne = async (): Promise<boolean> => {
      for (const s of [a, b, c]) {
        const events = await s.node.events.query({ limit: 1000 })
        if (about(events, 'peer.down', cId).length !== 1 || about(events, 'peer.up', cId).length !== 1) return false
      }
      return true
    }
    await waitFor('the restarted node to hold the incident too', exactlyOne, 15_000)
    await holdsFor('exactly one peer.down and one peer.up for c on every node', exactlyOne, 1500)

    const events = await a.node.events.query({ limit: 1000 })
    const down = about(events, 'peer.down', cId)[0]!
    expect(down).toMatchObject({ severity: 'critical', subject: { peer: cId, name: 'c' }, labels: { role: 'test' } })
    expect(down.message).toMatch(/^c is down: its watchers have not heard it for \d+s/)
    // written by the deterministic writer: the live peer with the smallest id, the subject excluded
    expect(down.source).toBe([a.node.peerId, b.node.peerId].sort()[0])
    expect(about(events, 'peer.up', cId)[0]!.source).toBe([a.node.peerId, b.node.peerId].sort()[0])
    // one join per node that joined after another was there (a was first); the restart is an `up`, not a join
    expect(about(events, 'peer.joined', b.node.peerId)).toHaveLength(1)
    expect(about(events, 'peer.joined', cId)).toHaveLength(1)
    expect(about(events, 'peer.joined', a.node.peerId)).toHaveLength(0)
    // a join carries the joiner's labels
    expect(about(events, 'peer.joined', cId)[0]!.labels).toEqual({ role: 'test' })
  })

  it('when the designated writer does not record the incident, another observer does, once', async () => {
    nodes = new Nodes()
    const keys = await Promise.all([1, 2, 3].map(async () => await generateKeyPair('Ed25519')))
    const [k1, k2, k3] = keys.sort((x, y) => (peerIdFromPrivateKey(x).toString() < peerIdFromPrivateKey(y).toString() ? -1 : 1))
    // the smallest id would write, but records nothing (as if it died right after the victim)
    const a = await member(nodes, 'a', { privateKey: k1, record: false })
    const b = await member(nodes, 'b', { privateKey: k2 })
    const c = await member(nodes, 'c', { privateKey: k3 })
    await nodes.connect(a.node, b.node, c.node)
    const all = [a, b, c]
    await waitFor('everyone up everywhere', () => all.every(m => all.every(o => m.node.table.get(o.node.peerId)?.state === 'up')), 15_000)
    const cId = c.node.peerId
    await waitFor('a and b hear c', () => [a, b].every(m => m.membership.member.observer.get(cId)?.[0] === 0), 15_000)
    await c.kill()
    await waitFor('b records c down after the fallback delay', async () => about(await b.node.events.query(), 'peer.down', cId).length === 1, 15_000)
    const down = about(await b.node.events.query(), 'peer.down', cId)[0]!
    expect(down.source).toBe(b.node.peerId)
    await waitFor('a holds it too', async () => about(await a.node.events.query(), 'peer.down', cId).length === 1, 15_000)
  })

  it('check changes are written by the node that owns the check; the first OK report is not an event', async () => {
    nodes = new Nodes()
    const table = new PeerTable()
    const n = await nodes.start('n', {}, { table })
    const other = '12D3KooWOtherPeer000000000000000000000000000000000'
    let seq = 0
    const report = (peerId: string, status: 0 | 1 | 2 | 3, lastRun: number, since: number, output: string): void => {
      table.apply(peerId, record({ name: peerId === n.peerId ? 'n' : 'other', seq: ++seq, labels: { role: 'db' }, checks: [{ name: 'web', type: 'http', status, output, perfdata: '', durationSeconds: 0.01, lastRun, since }] }), peerId === n.peerId)
    }
    const t = Date.now()
    report(n.peerId, 3, 0, t, 'pending first run')
    report(n.peerId, 0, t + 1, t + 1, 'HTTP 200')
    report(n.peerId, 2, t + 2, t + 2, 'HTTP 500')
    report(n.peerId, 1, t + 3, t + 3, 'slow: 2.1 s')
    report(n.peerId, 0, t + 4, t + 4, 'HTTP 200 in 12 ms')
    report(other, 2, t + 5, t + 5, 'HTTP 500') // another node's check: its owner writes it, not us
    await waitFor('three check events', async () => (await n.events.query()).length >= 3, 10_000)
    const events = (await n.events.query()).reverse()
    expect(events.map(e => [e.type, e.severity, e.subject.check, e.message])).toEqual([
      ['check.failed', 'critical', 'web', 'web on n is CRITICAL: HTTP 500'],
      ['check.warning', 'warning', 'web', 'web on n is WARNING: slow: 2.1 s'],
      ['check.recovered', 'info', 'web', 'web on n recovered: HTTP 200 in 12 ms']
    ])
    expect(events[0]).toMatchObject({ ts: new Date(t + 2).toISOString(), source: n.peerId, subject: { peer: n.peerId, name: 'n' }, labels: { role: 'db' } })
  })
})

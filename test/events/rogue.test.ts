/**
 * A member of the swarm that lies. It is built the way meshmon builds a node
 * (createMeshLibp2p with the swarm key, and the project's own replicated log),
 * so it passes pnet; from there it sends events that are forged, unsigned,
 * dated in the year 9999, oversized, over its quota, or that would replace an
 * incident the node holds. Each is refused with a log line saying why and
 * counted; the honest events sent beside them all arrive.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey, Stream } from '@libp2p/interface'
import { LevelDatastore } from 'datastore-level'
import { lpStream } from 'it-length-prefixed-stream'
import { afterEach, describe, expect, it } from 'vitest'
import { openEventsLevel } from '../../src/events/index/level.js'
import { ReplicatedLog } from '../../src/events/orbit/replicated-log.js'
import { OrbitState } from '../../src/events/orbit/state-storage.js'
import { meshId, periodFor, periodOf } from '../../src/events/periods.js'
import { SYNC_PROTOCOL } from '../../src/events/sync/protocol.js'
import { signEvent } from '../../src/events/trust/signature.js'
import type { MeshEvent } from '../../src/events/types.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { selfRegistry } from '../../src/metrics/self.js'
import { waitFor } from '../support/wait.js'
import { capturingLogger, Nodes, silent, waitForIds, type TestNode } from './helpers.js'

const enc = new TextEncoder()
const RETENTION = 7 * 86_400_000

interface Rogue { libp2p: MeshLibp2p, key: PrivateKey, id: string, requests: number }

/** An event as `writer` would write it: signed by its key, its peer id as the source, unless `over` says otherwise. */
async function written (writer: { key: PrivateKey, id: string }, n: string, over: Partial<MeshEvent> = {}): Promise<MeshEvent & { sig: string }> {
  return await signEvent({
    id: `${n}-${writer.id.slice(-6)}`, ts: new Date(Date.now() - 60_000).toISOString(), type: 'check.failed', severity: 'critical', source: writer.id,
    subject: { peer: writer.id, name: 'rogue', check: 'disk' }, message: `${n} written by the rogue`, labels: {}, ...over
  }, writer.key)
}

const unsigned = ({ sig, ...e }: MeshEvent & { sig: string }): MeshEvent => e

describe('a rogue swarm member', () => {
  let nodes: Nodes
  const rogues: Rogue[] = []
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const r of rogues.splice(0)) await r.libp2p.stop()
    for (const c of cleanups.splice(0)) await c()
    await nodes.stopAll()
  })

  /** A swarm member that answers every index sync request with these messages of events. */
  async function rogue (answer: (r: Rogue) => Promise<unknown[][]>): Promise<Rogue> {
    const key = await generateKeyPair('Ed25519')
    const libp2p = await createMeshLibp2p({ privateKey: key, swarmKey: nodes.meshKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
    const r: Rogue = { libp2p, key, id: libp2p.peerId.toString(), requests: 0 }
    rogues.push(r)
    const messages = await answer(r)
    await libp2p.handle(SYNC_PROTOCOL, ({ stream }: { stream: Stream }) => {
      void (async () => {
        const lp = lpStream(stream, { maxDataLength: 8 << 20 })
        await lp.read()
        r.requests++
        for (const events of messages) await lp.write(enc.encode(JSON.stringify({ events })))
        await lp.write(enc.encode(JSON.stringify({ done: true })))
        await stream.close()
      })().catch(() => { stream.abort(new Error('the node hung up')) })
    })
    return r
  }

  const honest = async (r: Rogue, n: number, prefix = 'honest'): Promise<MeshEvent[]> =>
    await Promise.all(Array.from({ length: n }, async (_, i) => await written(r, `${prefix}-${i}`)))

  it('each kind of bad event by index sync is refused with a log line and counted; honest events all arrive', async () => {
    nodes = new Nodes()
    const { log, lines } = capturingLogger()
    const a = await nodes.start('a', { record: false, syncQuota: { events: 40, windowMs: 3_600_000 } }, { log })
    const held = await a.events.append({ type: 'peer.down', severity: 'critical', subject: { peer: '12D3KooWHeld', name: 'held' }, message: 'held is down', labels: {} })
    const expected: string[] = []
    const refusedIds: string[] = []

    const cases: Array<{ reason: string, offence: boolean, messages: (r: Rogue) => Promise<unknown[][]> }> = [
      // signed by the rogue, but naming another node (a itself) as its writer
      { reason: 'forged', offence: true, messages: async r => [await honest(r, 5), [await written(r, 'forged', { source: a.peerId })]] },
      { reason: 'unsigned', offence: true, messages: async r => [await honest(r, 5), [unsigned(await written(r, 'unsigned'))]] },
      { reason: 'future', offence: true, messages: async r => [await honest(r, 5), [await written(r, 'future', { ts: '9999-12-31T23:59:59.000Z' })]] },
      { reason: 'oversized', offence: true, messages: async r => [await honest(r, 5), [await written(r, 'oversized', { message: 'x'.repeat(3000) })]] },
      // 30, then 30 more: the second message passes the quota of 40
      { reason: 'quota', offence: true, messages: async r => [await honest(r, 30), await honest(r, 30, 'beyond')] },
      // another version of an incident a holds, dated earlier (which used to replace it): skipped, not an offence
      { reason: 'replaces', offence: false, messages: async r => [[await written(r, 'replace', { id: held.id, ts: new Date(Date.now() - 3_600_000).toISOString(), subject: held.subject, type: held.type }), ...await honest(r, 5)]] }
    ]
    for (const c of cases) {
      const r = await rogue(async r => {
        const messages = await c.messages(r)
        const all = messages.flat() as MeshEvent[]
        const good = c.reason === 'quota' ? messages[0] as MeshEvent[] : all.filter(e => e.id.startsWith('honest'))
        expected.push(...good.map(e => e.id))
        refusedIds.push(...all.filter(e => !good.includes(e) && e.id !== held.id).map(e => e.id))
        return messages
      })
      await r.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
      await waitFor(`a to refuse the ${c.reason} event`, () => (a.events.syncStats().refused as Record<string, number>)[c.reason] !== undefined, 15_000)
      await waitForIds(a, expected, 15_000)
      const line = c.offence
        ? lines.find(l => l.reason === c.reason && l.peer === r.id && /cut off/.test(l.msg))
        : lines.find(l => l.refused?.[c.reason] === 1 && l.peer === r.id)
      expect(line, `a log line for the ${c.reason} event`).toBeDefined()
    }

    // nothing refused is held, and the incident a held is as a wrote it
    for (const id of refusedIds) expect(await a.events.has(id), id).toBe(false)
    expect((await a.events.query({ limit: 1000 })).find(e => e.id === held.id)).toEqual(held)
    expect(a.events.syncStats()).toMatchObject({ refused: { forged: 1, unsigned: 1, future: 1, oversized: 1, quota: 30, replaces: 1 }, cutOff: 5 })
    // ... and counted in /metrics
    const { registry } = selfRegistry({ peerId: a.peerId, name: 'a', gossip: () => ({ received: 0, invalid: {} }), connectedPeers: () => 0, eventsRefused: () => a.events.refused() })
    const text = await registry.metrics()
    for (const reason of ['forged', 'unsigned', 'future', 'oversized', 'replaces']) expect(text).toMatch(new RegExp(`^meshmon_events_refused_total\\{via="sync",reason="${reason}",peer="[^"]+",node="a"\\} 1$`, 'm'))
    expect(text).toMatch(/^meshmon_events_refused_total\{via="sync",reason="quota",peer="[^"]+",node="a"\} 30$/m)

    // a peer cut off is not asked again when it comes back, until its quota window ends
    const forger = rogues[0] as Rogue
    await a.libp2p.hangUp(forger.libp2p.peerId)
    await waitFor('the forger to see the connection closed', () => forger.libp2p.getConnections(a.libp2p.peerId).length === 0, 10_000)
    await forger.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    await waitFor('a to skip the forger', () => lines.some(l => l.peer === forger.id && /skipped/.test(l.msg)), 15_000)
    expect(forger.requests).toBe(1)
  }, 90_000)

  it('events a rogue writes into the replicated log itself are checked as well: honest ones indexed, bad ones refused and logged', async () => {
    nodes = new Nodes()
    const { log, lines } = capturingLogger()
    const a = await nodes.start('a', { record: false, indexSync: false }, { log })
    // the rogue's replicated log: the project's own, on the same swarm key, so the same log address
    const dir = await mkdtemp(join(tmpdir(), 'meshmon-rogue-'))
    const key = await generateKeyPair('Ed25519')
    const datastore = new LevelDatastore(join(dir, 'datastore'))
    await datastore.open()
    const libp2p = await createMeshLibp2p({ privateKey: key, swarmKey: nodes.meshKey, listen: ['/ip4/127.0.0.1/tcp/0'], datastore })
    const level = await openEventsLevel(join(dir, 'events'))
    const id = libp2p.peerId.toString()
    const periodMs = periodFor(RETENTION)
    const replicated = new ReplicatedLog({ libp2p, datastore, state: new OrbitState(level.db), log: silent, peerId: id, onEntries: () => {} }, { dataDir: dir, mesh: meshId(nodes.meshKey), periodMs })
    cleanups.push(async () => { await replicated.close(); await libp2p.stop(); await level.close(); await datastore.close(); await rm(dir, { recursive: true, force: true }) })
    await replicated.open()
    const me = { key, id }
    const good = await written(me, 'honest')
    const bad = [await written(me, 'forged', { source: a.peerId }), unsigned(await written(me, 'unsigned')), await written(me, 'future', { ts: '9999-12-31T23:59:59.000Z' })]
    await replicated.add(periodOf(Date.now() - 60_000, periodMs), { v: 1, events: [good, ...bad] })

    await libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    await waitForIds(a as TestNode, [good.id], 30_000)
    await waitFor('the bad ones counted', () => Object.keys(a.events.refused().log).length === 3, 15_000)
    expect(a.events.refused().log).toEqual({ forged: 1, unsigned: 1, future: 1 })
    for (const e of bad) expect(await a.events.has(e.id)).toBe(false)
    expect(lines.some(l => /replicated log entries refused/.test(l.msg) && l.refused?.forged === 1)).toBe(true)
  }, 60_000)
})
